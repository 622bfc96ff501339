/** What an incoming webhook's body posts (integrations/slack-text.ts): Parley's content, Slack's text, attachments and blocks. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { WebhookBodyError, contentOf, fromSlack } from '../../src/server/integrations/slack-text.js';

describe('incoming webhook bodies', () => {
  it('take Parley\'s content as it is, with its nonce', () => {
    assert.deepEqual(contentOf({ content: '**build** <b>ok</b> &amp;', nonce: 'n1' }), { content: '**build** <b>ok</b> &amp;', nonce: 'n1' });
  });

  it('turn Slack mrkdwn links, mentions and escapes into Markdown', () => {
    assert.equal(fromSlack('Deploy <https://ci.example/42|#42> by <@ann> &lt;done&gt; &amp; <https://x.example/a> <!here> <!channel>'),
      'Deploy [#42](https://ci.example/42) by @ann <done> & https://x.example/a @here @room');
    assert.equal(fromSlack('<javascript:alert(1)|click>'), 'click', 'a label whose target is no web link stays a label');
    assert.deepEqual(contentOf({ text: 'hi <https://a.example|a>', username: 'ignored', icon_url: 'https://img.example/x.png' }), { content: 'hi [a](https://a.example)' });
  });

  it('turn Slack\'s *bold* into Markdown\'s **bold**, outside code and links, leaving _italic_ and stray stars', () => {
    assert.equal(fromSlack('Build *passed* in _3 min_ (*all green*)'), 'Build **passed** in _3 min_ (**all green**)');
    assert.equal(fromSlack('`a *b* c` and ```x *y* z``` and <https://x.example/*a*|*label*>'), '`a *b* c` and ```x *y* z``` and [*label*](https://x.example/*a*)');
    assert.equal(fromSlack('2 * 3 * 4, a*b*c, * not * bold, **already**'), '2 * 3 * 4, a*b*c, * not * bold, **already**');
  });

  it('fall back to attachments\' fallback (or pretext, title, text) and to the text of blocks, fetching nothing', () => {
    assert.equal(contentOf({ attachments: [{ fallback: 'Build 42 failed', image_url: 'https://img.example/x.png' }, { pretext: 'p', title: 't', text: 'x' }] }).content,
      'Build 42 failed\np\nt\nx');
    assert.equal(contentOf({
      blocks: [{ type: 'header', text: { type: 'plain_text', text: 'Alert' } }, { type: 'image', image_url: 'https://img.example/y.png' },
        { type: 'section', text: { type: 'mrkdwn', text: 'CPU *95%*' }, fields: [{ type: 'mrkdwn', text: 'host: a' }] },
        { type: 'context', elements: [{ type: 'mrkdwn', text: 'via <https://mon.example|mon>' }] }],
    }).content, 'Alert\nCPU **95%**\nhost: a\nvia [mon](https://mon.example)');
    assert.equal(contentOf({ text: '', blocks: [{ type: 'divider' }], attachments: [{ fallback: 'fb' }] }).content, 'fb');
  });

  it('refuse bodies that say nothing', () => {
    for (const body of [null, [], 'text', 42, {}, { text: '   ' }, { attachments: [{ image_url: 'https://x' }] }, { blocks: 'x' }]) {
      assert.throws(() => contentOf(body), WebhookBodyError, JSON.stringify(body));
    }
  });
});
