/**
 * docs/webhooks.md works as written: each `curl` example posts to a real server's webhook,
 * and the Node receiver it shows verifies a real delivery's signature and answers as the bot.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import type { ServerMessage } from '../../src/protocol/messages.js';
import { registeredUser } from '../helpers/accounts.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { jsonUser, type TestClient } from '../helpers/ws-client.js';

const run = promisify(execFile);
const DOC = new URL('../../docs/webhooks.md', import.meta.url);

/** The fenced code blocks of a language in the doc. */
function blocks(doc: string, lang: string): string[] {
  return [...doc.matchAll(new RegExp('```' + lang + '\\n([\\s\\S]*?)```', 'g'))].map((m) => m[1]!);
}

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const { port } = probe.address() as { port: number };
  await new Promise<void>((r) => probe.close(() => r()));
  return port;
}

async function ask(c: TestClient<ServerMessage>, msg: Record<string, unknown>): Promise<ServerMessage & Record<string, unknown>> {
  const ref = `d${Math.random()}`;
  c.send({ ...msg, ref });
  return c.next((f) => (f as { ref?: unknown }).ref === ref, 15_000, `the answer to ${String(msg.type)}`) as Promise<ServerMessage & Record<string, unknown>>;
}

describe('docs/webhooks.md, run as written', () => {
  let server: TestServer;
  let doc = '';
  before(async () => {
    doc = await readFile(DOC, 'utf8');
    server = await startTestServer({ admins: ['root'], webhookAllowPrivate: true });
  });
  after(() => server.close());

  it('has curl examples that post to a room through a webhook URL', async () => {
    const owner = await jsonUser(server.url, 'docs');
    try {
      assert.equal((await ask(owner, { type: 'CreateRoom', room: 'deploys' })).type, 'Ack');
      const ack = await ask(owner, { type: 'CreateWebhook', room: 'deploys', name: 'ci' });
      const examples = blocks(doc, 'sh').filter((b) => b.includes('curl') && b.includes('$WEBHOOK_URL'));
      assert.ok(examples.length >= 2, 'the doc shows both formats');
      for (const example of examples) {
        const seen = owner.nextOfType('Message', (m) => m.username === 'ci');
        const { stdout } = await run('sh', ['-c', example], { env: { ...process.env, WEBHOOK_URL: String(ack.url) } });
        const answer = JSON.parse(stdout) as { ok: boolean; message: { id: string; bot: boolean } };
        assert.equal(answer.ok, true, stdout);
        const m = await seen;
        assert.deepEqual([m.id, m.bot], [answer.message.id, true]);
      }
    } finally {
      owner.close();
    }
  });

  it('has a Node receiver that verifies a real delivery and answers as the bot', async () => {
    const code = blocks(doc, 'js').find((b) => b.includes('x-parley-signature'));
    assert.ok(code, 'the doc shows a receiver');
    const dir = await mkdtemp(join(tmpdir(), 'parley-receiver-'));
    const file = join(dir, 'receiver.mjs');
    await writeFile(file, code);
    const port = await freePort();
    const root = await registeredUser(server.url, 'root');
    const ann = await jsonUser(server.url, 'ann');
    try {
      assert.equal((await ask(root, { type: 'CreateBot', name: 'greeter' })).type, 'Ack');
      // The receiver needs the secret SetBotWebhook shows: set the URL, then start it with that secret.
      const set = await ask(root, { type: 'SetBotWebhook', name: 'greeter', url: `http://127.0.0.1:${port}/` });
      assert.equal(set.type, 'Ack', JSON.stringify(set));
      const receiver = spawn(process.execPath, [file], { env: { ...process.env, PORT: String(port), PARLEY_BOT_SECRET: String(set.secret) }, stdio: 'ignore' });
      try {
        await waitListening(port);
        const reply = ann.nextOfType('PrivateMessage', (m) => m.from === 'greeter', 20_000);
        assert.equal((await ask(ann, { type: 'PrivateMessage', to: 'greeter', content: 'hi there' })).type, 'PrivateMessage');
        assert.equal((await reply).content, 'Hello ann, you said: hi there');
      } finally {
        receiver.kill();
      }
    } finally {
      root.close();
      ann.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

/** Resolves once the receiver answers on the port (an unsigned POST: 401, its refusal). */
async function waitListening(port: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const ok = await fetch(`http://127.0.0.1:${port}/`, { method: 'POST', body: '{}' }).then((r) => r.status === 401, () => false);
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nothing listens on ${port}`);
}
