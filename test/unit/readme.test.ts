import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { DEFAULTS, OPTIONS } from '../../src/server/config.js';
import { COMMANDS } from '../../src/protocol/text.js';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

describe('README', () => {
  it('documents every server option with its environment variable and default', () => {
    for (const spec of OPTIONS) {
      const row = readme.split('\n').find((line) => line.startsWith(`| \`${spec.flag}\``));
      assert.ok(row, `no README row for ${spec.flag}`);
      assert.ok(row.includes(`\`${spec.env}\``), `README row for ${spec.flag} lacks ${spec.env}`);
      const fallback = DEFAULTS[spec.key];
      if (typeof fallback === 'number' || (typeof fallback === 'string' && fallback !== '')) {
        assert.ok(row.includes(`\`${fallback}\``), `README row for ${spec.flag} lacks its default ${fallback}`);
      }
    }
  });

  it('lists every text-mode command', () => {
    for (const cmd of COMMANDS) {
      const first = cmd.usage.split(/[ ,]/)[0]!;
      assert.ok(readme.includes(`\`${first}`), `README lacks ${first}`);
    }
  });

  it('shows the set-up and test commands', () => {
    for (const command of ['npm install', 'npm start', 'npm test', 'npm run bench']) assert.ok(readme.includes(command), command);
  });
});
