/**
 * Files and replies in the terminal client: how attachments and replies are printed,
 * `/upload` (a streamed multipart POST with the token; a guest's is refused with a clear error) and
 * `/reply N` (numbered from the newest message of the current room).
 *
 * The formatting and upload tests need nothing else; the interactive ones run the client
 * as a child process against a real server. The last ones need the server's file
 * endpoint and `replyTo`, so they pass once both sides are merged.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { ChatMessage } from '../../src/protocol/messages.js';
import { httpOrigin, parseUploadArgs, uploadFile, UploadError } from '../../src/client/cli/files.js';
import { chatLine, clientHelpText, privateLine, type FormatContext } from '../../src/client/cli/format.js';
import { createStyle } from '../../src/client/cli/style.js';
import { cliConfigDir, removeCliConfigDirs } from '../helpers/cli-config.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { jsonUser, joinRoom } from '../helpers/ws-client.js';

after(removeCliConfigDirs);

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const START_TIMEOUT = 20_000;
const WAIT = 8_000;

const plain: FormatContext = { style: createStyle(false), current: 'general', me: 'me', recall: () => undefined, origin: 'http://chat.example:8080' };

function msg(over: Partial<ChatMessage>): ChatMessage {
  return { id: 'm1', seq: 1, room: 'general', username: 'di', content: 'yes please', timestamp: '2026-01-02T10:05:00.000Z', ...over };
}

describe('terminal client: printing files and replies', () => {
  it('prints a reply as "↪ USER: excerpt" before the text', () => {
    const lines = chatLine(msg({ replyTo: { id: 'm0', username: 'cy', excerpt: 'lunch\nat noon?' } }), plain).split('\n');
    assert.equal(lines.length, 2);
    assert.equal(lines[0], '      ↪ cy: lunch at noon?');
    assert.match(lines[1]!, /^\d\d:\d\d di: yes please$/);
    const gone = chatLine(msg({ replyTo: { id: 'm0', username: 'cy', excerpt: '', deleted: true } }), plain);
    assert.match(gone.split('\n')[0]!, /↪ cy: \(deleted message\)$/);
  });

  it('prints each attachment as "[file] NAME (SIZE) URL" with the server\'s origin', () => {
    const lines = chatLine(msg({
      content: '',
      attachments: [
        { id: 'a', name: 'report.pdf', size: 245_760, type: 'application/pdf', url: '/files/a?exp=1&sig=x' },
        { id: 'b', name: 'cat.png', size: 2_500_000, type: 'image/png', url: '/files/b?exp=1&sig=y', width: 10, height: 10 },
        { id: 'c', name: 'elsewhere\u001b[31m.txt', size: 12, type: 'text/plain', url: 'https://evil.example/x' },
      ],
    }), plain).split('\n');
    // A message of files only starts with its first file.
    assert.match(lines[0]!, /^\d\d:\d\d di: \[file\] report\.pdf \(240 KB\) http:\/\/chat\.example:8080\/files\/a\?exp=1&sig=x$/);
    assert.deepEqual(lines.slice(1), [
      '      [file] cat.png (2.4 MB) http://chat.example:8080/files/b?exp=1&sig=y',
      '      [file] elsewhere[31m.txt (12 B) (no link)',
    ]);
    const withText = chatLine(msg({ content: 'see attached', attachments: [{ id: 'a', name: 'a.txt', size: 1, type: 'text/plain', url: '/files/a' }] }), plain);
    assert.match(withText, /^\d\d:\d\d di: see attached\n {6}\[file\] a\.txt \(1 B\) http:\/\/chat\.example:8080\/files\/a$/);
    const pm = privateLine({ id: 'p', from: 'cy', to: 'me', content: 'here', timestamp: '2026-01-02T10:05:00.000Z', attachments: [{ id: 'a', name: 'a.txt', size: 1, type: 'text/plain', url: '/files/a' }] }, plain);
    assert.match(pm, /\[pm from cy\] here\n {6}\[file\] a\.txt \(1 B\) http:\/\/chat\.example:8080\/files\/a$/);
  });

  it('finds the HTTP origin from the WebSocket URL, and reads /upload arguments', () => {
    assert.equal(httpOrigin('ws://127.0.0.1:8080'), 'http://127.0.0.1:8080');
    assert.equal(httpOrigin('wss://chat.example.org/'), 'https://chat.example.org');
    assert.deepEqual(parseUploadArgs('notes.txt here you go'), { path: 'notes.txt', text: 'here you go' });
    assert.deepEqual(parseUploadArgs('"my notes.txt"'), { path: 'my notes.txt', text: '' });
    assert.equal(parseUploadArgs('  '), null);
  });

  it('lists /upload and /reply in the help', () => {
    const help = clientHelpText();
    assert.match(help, /\/upload PATH \[TEXT\]/);
    assert.match(help, /\/reply N TEXT/);
  });
});

describe('terminal client: uploading', () => {
  const dir = mkdtempSync(join(tmpdir(), 'parley-upload-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** A stand-in for POST /api/files that records what it got. */
  async function fakeFiles(status: number, answer: object): Promise<{ origin: string; got: Array<{ auth?: string; type?: string; body: string }>; close(): Promise<void> }> {
    const got: Array<{ auth?: string; type?: string; body: string }> = [];
    const srv = createServer((req: IncomingMessage, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        got.push({ auth: req.headers.authorization, type: req.headers['content-type'], body: Buffer.concat(chunks).toString('latin1') });
        res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(answer));
      });
    });
    await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
    const { port } = srv.address() as { port: number };
    return { origin: `http://127.0.0.1:${port}`, got, close: () => new Promise((resolve) => srv.close(() => resolve())) };
  }

  it('posts the file as the multipart field "file" with the token, and returns the attachment', async () => {
    const file = join(dir, 'notes.txt');
    writeFileSync(file, 'line one\nline two\n');
    const answer = { id: 'f1', name: 'notes.txt', size: 18, type: 'text/plain', url: '/files/f1?exp=1&sig=z' };
    const fake = await fakeFiles(201, answer);
    try {
      assert.deepEqual(await uploadFile(fake.origin, 'TOKEN123', file), answer);
      const [req] = fake.got;
      assert.equal(req!.auth, 'Bearer TOKEN123');
      assert.match(req!.type ?? '', /^multipart\/form-data; boundary=/);
      assert.match(req!.body, /Content-Disposition: form-data; name="file"; filename="notes.txt"\r\nContent-Type: text\/plain\r\n\r\nline one\nline two\n\r\n/);
    } finally {
      await fake.close();
    }
  });

  it('reports a refused upload with the server\'s message, and a missing file', async () => {
    const file = join(dir, 'big.bin');
    writeFileSync(file, Buffer.alloc(1000));
    const fake = await fakeFiles(413, { code: 'FILE_TOO_LARGE', message: 'The file is larger than 1 KB.' });
    try {
      await assert.rejects(uploadFile(fake.origin, 't', file), (err: Error) => err instanceof UploadError && /big\.bin refused: The file is larger than 1 KB\./.test(err.message));
      await assert.rejects(uploadFile(fake.origin, 't', join(dir, 'nope.txt')), /no such file: .*nope\.txt/);
      await assert.rejects(uploadFile(fake.origin, 't', dir), /not a file/);
    } finally {
      await fake.close();
    }
  });
});

/** A `parley client` child process, its stdout collected line by line. */
class CliProcess {
  readonly out: string[] = [];
  private readonly child: ChildProcessWithoutNullStreams;
  private cursor = 0;
  private wake: (() => void) | null = null;

  constructor(args: string[]) {
    this.child = spawn(process.execPath, ['bin/parley.js', 'client', ...args], { cwd: ROOT, env: { ...process.env, NO_COLOR: '1', PARLEY_CONFIG_DIR: cliConfigDir() }, stdio: 'pipe' });
    let rest = '';
    this.child.stdout.setEncoding('utf8');
    this.child.stdout.on('data', (chunk: string) => {
      const parts = (rest + chunk).split('\n');
      rest = parts.pop()!;
      this.out.push(...parts);
      this.wake?.();
    });
    this.child.stderr.resume();
    this.child.stdin.on('error', () => undefined);
  }

  /** The next stdout line after the previous match that contains or matches `text`. */
  async line(text: string | RegExp, timeout = WAIT): Promise<string> {
    const test = typeof text === 'string' ? (s: string) => s.includes(text) : (s: string) => text.test(s);
    const deadline = Date.now() + timeout;
    for (;;) {
      for (let i = this.cursor; i < this.out.length; i++) {
        if (test(this.out[i]!)) {
          this.cursor = i + 1;
          return this.out[i]!;
        }
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${String(text)}; stdout: ${JSON.stringify(this.out.slice(-12))}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 200));
        this.wake = () => { clearTimeout(t); resolve(); };
      });
    }
  }

  write(line: string): void {
    this.child.stdin.write(`${line}\n`);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
  }
}

async function chatter(url: string, name: string, room: string): Promise<CliProcess> {
  const p = new CliProcess([url, '--name', name, '--room', room]);
  await p.line('Connected to', START_TIMEOUT);
  return p;
}

describe('terminal client: /upload and /reply', () => {
  let server: TestServer;
  const dir = mkdtempSync(join(tmpdir(), 'parley-cli-rich-'));
  before(async () => { server = await startTestServer(); });
  after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('numbers the newest messages for /reply and explains a number with no message', async () => {
    await using ed = await jsonUser(server.url, 'ed');
    await joinRoom(ed, 'numbers');
    await using fay = await chatter(server.url, 'fay', 'numbers');
    for (const text of ['first', 'second', 'third']) ed.send({ type: 'SendMessage', room: 'numbers', content: text });
    await fay.line('ed: third');
    fay.write('/reply');
    await fay.line('newest messages of numbers');
    assert.match(await fay.line(/^ 1 /), /^ 1 {2}\d\d:\d\d ed: third$/);
    assert.match(await fay.line(/^ 2 /), /ed: second$/);
    assert.match(await fay.line(/^ 3 /), /ed: first$/);
    fay.write('/reply 7 hello?');
    await fay.line('! There is no message 7 in numbers');
    fay.write('/reply 2');
    await fay.line('! Usage: /reply N TEXT');
  });

  it('tells a guest that sharing files needs a registered account, and explains a missing path', async () => {
    const file = join(dir, 'a.txt');
    writeFileSync(file, 'hello');
    await using gil = await chatter(server.url, 'gil', 'general');
    gil.write(`/upload ${file} look`);
    await gil.line('! Sharing files needs an account with a password');
    gil.write('/upload');
    await gil.line('! Usage: /upload PATH [TEXT]');
  });

  describe('against the server\'s file and reply features', () => {
    it('uploads a file with /upload and prints it as a [file] line with an absolute URL', async () => {
      const file = join(dir, 'plan.txt');
      writeFileSync(file, 'the plan\n');
      await using watcher = await jsonUser(server.url, 'watcher');
      await joinRoom(watcher, 'shared');
      await using hal = await chatter(server.url, 'hal', 'shared');
      hal.write('/register secret-password-1');
      await hal.line('is now registered');
      hal.write(`/upload ${file} the plan, attached`);
      const seen = await watcher.nextOfType('Message', (m) => m.content === 'the plan, attached');
      assert.equal(seen.attachments?.[0]?.name, 'plan.txt');
      await hal.line(/hal: the plan, attached$/);
      const line = await hal.line('[file] plan.txt');
      assert.match(line, /^ {6}\[file\] plan\.txt \(9 B\) http:\/\/127\.0\.0\.1:\d+\/files\//);
      const url = /(http:\/\/\S+)$/.exec(line)![1]!;
      const res = await fetch(url);
      assert.equal(res.status, 200);
      assert.equal(await res.text(), 'the plan\n');
    });

    it('sends /reply N TEXT with replyTo and prints the quote before the text', async () => {
      await using ivy = await jsonUser(server.url, 'ivy');
      await joinRoom(ivy, 'replies');
      await using jon = await chatter(server.url, 'jon', 'replies');
      ivy.send({ type: 'SendMessage', room: 'replies', content: 'lunch at noon?' });
      const original = await ivy.nextOfType('Message', (m) => m.content === 'lunch at noon?');
      ivy.send({ type: 'SendMessage', room: 'replies', content: 'or one?' });
      await jon.line('ivy: or one?');
      jon.write('/reply 2 noon works');
      const reply = await ivy.nextOfType('Message', (m) => m.content === 'noon works');
      assert.equal(reply.replyTo?.id, original.id);
      await jon.line('↪ ivy: lunch at noon?');
      await jon.line(/jon: noon works$/);
    });
  });
});
