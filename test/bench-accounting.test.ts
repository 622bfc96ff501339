/**
 * The benchmark checks its own books: the accounting counts a dropped delivery as missing
 * and a repeated one as duplicated, the lean client parses frames however TCP splits them,
 * and a tiny end-to-end run against both servers (and (c), (i) against Socket.IO) completes with nothing missing.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Accounting } from '../bench/accounting.js';
import { runBench, slope, type Scale, type ScenarioId } from '../bench/bench.js';
import { LeanClient, encodeServerFrame, frameType, readTag, socketIoEvent } from '../bench/lean-ws.js';
import { markdown, svg } from '../bench/report.js';
import { footprintMarkdown, footprintMet, type Footprint } from '../bench/footprint.js';

describe('bench accounting', () => {
  function roomOfThree(): Accounting {
    const acc = new Accounting();
    acc.room(7, [0, 1, 2]);
    acc.sender(0, 7);
    for (let n = 0; n < 3; n++) acc.sent(0, n, 100 + n);
    return acc;
  }

  it('counts every delivery of every message to every member, the sender included', () => {
    const acc = roomOfThree();
    for (let n = 0; n < 3; n++) for (const r of [0, 1, 2]) acc.received(r, 0, n, 110 + n);
    const report = acc.report();
    assert.deepEqual([report.sent, report.expected, report.delivered, report.missing, report.duplicated], [3, 9, 9, 0, 0]);
    assert.equal(report.latency.p50, 10);
    assert.equal(report.latency.max, 10);
  });

  it('times each message\'s first copy and, once every member has it, its last', () => {
    const acc = roomOfThree();
    // Message n: copies at +1, +2 and +5 ms; message 2 never reaches member 2.
    for (let n = 0; n < 3; n++) {
      acc.received(0, 0, n, 100 + n + 1);
      acc.received(1, 0, n, 100 + n + 2);
      if (n !== 2) acc.received(2, 0, n, 100 + n + 5);
    }
    const report = acc.report();
    assert.deepEqual([report.firstCopy.count, report.firstCopy.p50, report.firstCopy.max], [3, 1, 1]);
    assert.deepEqual([report.lastCopy.count, report.lastCopy.p50, report.lastCopy.max], [2, 5, 5]);
  });

  it('counts a deliberately dropped delivery as missing', () => {
    const acc = roomOfThree();
    for (let n = 0; n < 3; n++) for (const r of [0, 1, 2]) if (!(n === 1 && r === 2)) acc.received(r, 0, n, 120);
    const report = acc.report();
    assert.equal(report.missing, 1);
    assert.equal(report.duplicated, 0);
    assert.equal(acc.outstanding(), 1);
  });

  it('counts a repeated delivery as duplicated, not as delivered twice', () => {
    const acc = roomOfThree();
    for (let n = 0; n < 3; n++) for (const r of [0, 1, 2]) acc.received(r, 0, n, 120);
    assert.equal(acc.received(1, 0, 2, 130), -1);
    const report = acc.report();
    assert.deepEqual([report.delivered, report.missing, report.duplicated], [9, 0, 1]);
  });

  it('counts a copy for a receiver outside the room, or of a message never sent, as unexpected', () => {
    const acc = roomOfThree();
    acc.received(9, 0, 0, 120);
    acc.received(1, 0, 99, 120);
    assert.equal(acc.report().unexpected, 2);
    assert.equal(acc.report().delivered, 0);
  });

  it('takes percentiles over every delivery', () => {
    const acc = new Accounting();
    acc.room(1, Array.from({ length: 100 }, (_, i) => i));
    acc.sender(0, 1);
    acc.sent(0, 0, 0);
    for (let r = 0; r < 100; r++) acc.received(r, 0, 0, r + 1);
    const { p50, p99, max } = acc.report().latency;
    assert.deepEqual([p50, p99, max], [51, 100, 100]);
  });
});

describe('lean WebSocket client', () => {
  function parsed(chunks: Buffer[]): string[] {
    const texts: string[] = [];
    const socket = { write: () => true, end: () => undefined } as unknown as ConstructorParameters<typeof LeanClient>[0];
    const client = new LeanClient(socket, (_c, buf, start, end) => texts.push(buf.toString('utf8', start, end)));
    for (const chunk of chunks) client.feed(chunk);
    return texts;
  }

  it('parses frames of every length class, split at every byte', () => {
    const payloads = ['hi', 'x'.repeat(125), 'é'.repeat(100), 'y'.repeat(70_000)];
    const bytes = Buffer.concat(payloads.map((p) => encodeServerFrame(p)));
    assert.deepEqual(parsed([bytes]), payloads);
    for (const cut of [1, 2, 3, 5, 130, 131, 400, bytes.length - 1]) {
      assert.deepEqual(parsed([bytes.subarray(0, cut), bytes.subarray(cut)]), payloads, `cut at ${cut}`);
    }
  });

  it('reads the type and the bench tag without parsing JSON', () => {
    const frame = Buffer.from(JSON.stringify({ type: 'Message', id: 'm1', seq: 3, room: 'general', username: 'u1', content: '~12~345~ hello', timestamp: 't' }));
    assert.equal(frameType(frame, 0, frame.length), 'Message');
    const tag: [number, number] = [0, 0];
    assert.equal(readTag(frame, 0, frame.length, tag), true);
    assert.deepEqual(tag, [12, 345]);
    const other = Buffer.from('{"type":"Message","content":"no tag"}');
    assert.equal(readTag(other, 0, other.length, tag), false);
  });
});

describe('idle memory per connection', () => {
  it('is the least-squares slope over the rounds', () => {
    assert.equal(slope([[2_000, 100], [4_000, 104], [6_000, 108], [8_000, 112]]), 0.002);
    assert.equal(slope([[1, 5], [2, 4], [3, 6], [4, 5]]), 0.2);
    assert.equal(slope([[1, 5]]), 0);
  });
});

describe('bench end to end', () => {
  it('runs a tiny bench against Parley, the reference and Socket.IO with nothing missing or duplicated', { timeout: 120_000 }, async () => {
    const tiny: Scale = { idle: 20, fanConnections: 8, fanSenders: 2, fanRate: 5, seconds: 0.5, window: 2, manyConnections: 12, manyRooms: 3, storm: 8, arrivals: 6 };
    // Most of a tiny run is waiting (the idle scenario samples memory for a second per round,
    // the others wait for quiet between steps), so each server, and the idle scenario, run on
    // servers of their own side by side: this test checks the books, not the figures.
    const runs = (['parley', 'reference'] as const).flatMap((server) => [['d'], ['a', 'b', 'c', 'e', 'i']].map((scenarios) =>
      runBench({ scale: tiny, servers: [server], scenarios: scenarios as ScenarioId[] })));
    // Socket.IO beside them: (c) and (i), the scenarios whose goals name it.
    runs.push(runBench({ scale: tiny, servers: ['socketio'], scenarios: ['c', 'i'] }));
    const rows = (await Promise.all(runs)).flat();
    assert.equal(rows.length, 14);
    for (const row of rows.filter((r) => (r.scenario === 'a' || r.scenario === 'c') && r.server !== 'socketio')) {
      // Both servers answered the event-loop probe for their measured slices (Socket.IO's books only are checked).
      assert.equal(typeof row.loopDelay?.max, 'number', `${row.server} ${row.scenario} reported its event-loop delay`);
    }
    for (const row of rows.filter((r) => r.scenario === 'a' || r.scenario === 'b' || r.scenario === 'c')) {
      assert.ok(row.delivered > 0, `${row.server} ${row.scenario} delivered something`);
      assert.equal(row.missing, 0, `${row.server} ${row.scenario} missing`);
      assert.equal(row.duplicated, 0, `${row.server} ${row.scenario} duplicated`);
      assert.equal(row.unexpected, 0, `${row.server} ${row.scenario} unexpected`);
    }
    for (const row of rows.filter((r) => r.scenario === 'i')) {
      // Every arrival (connect, SetUsername, JoinRoom general) was acknowledged, in three measured rounds of two.
      assert.deepEqual([row.delivered, row.missing], [6, 0], `${row.server} arrivals`);
      assert.ok(row.deliveredPerSec > 0 && row.p99 >= row.p50, `${row.server} arrival figures`);
    }
    for (const row of rows.filter((r) => r.scenario === 'd')) {
      // Both servers answered the benchmark's garbage-collection probe after every round.
      assert.equal(typeof row.heapPerConnKiB, 'number', `${row.server} reported its heap`);
    }
    const table = markdown(rows, { date: 'now', command: 'test', machine: 'test', node: process.version, quick: true });
    assert.match(table, /\| \(b\) saturation \| parley \|/);
    assert.match(table, /\| \(i\) arrivals \| parley \| 6 \| [\d,]+ arrivals\/s \|/);
    assert.match(table, /\| \(i\) arrivals: arrivals\/s \(connect, name, join general\) \| [\d.]+ \| ≥ 1 \|/);
    assert.match(table, /\| \(c\) many rooms: p99 latency \(durability on\) \| [\d.]+ \| ≤ 1 \|/);
    assert.match(table, /\| \(c\) many rooms \| socketio \|/);
    assert.match(table, /\| \(c\) many rooms: p99 latency, Parley ÷ Socket\.IO \| [\d.]+ \| ≤ 1 \|/);
    assert.match(table, /\| \(i\) arrivals: arrivals\/s, Parley ÷ Socket\.IO \| [\d.]+ \| ≥ 1 \|/);
    assert.match(svg(rows, 'test'), /^<svg/);
  });
});

describe('bench against Socket.IO', () => {
  it('wraps a generator frame as the Socket.IO event its type names, asking for an acknowledgement when it carries a ref', () => {
    assert.equal(socketIoEvent('{"type":"SendMessage","room":"r1","content":"~1~2~ hi"}'), '42["SendMessage",{"type":"SendMessage","room":"r1","content":"~1~2~ hi"}]');
    assert.equal(socketIoEvent('{"type":"JoinRoom","room":"general","ref":12}'), '4212["JoinRoom",{"type":"JoinRoom","room":"general","ref":12}]');
  });
});

describe('the start table', () => {
  const figures: Footprint = {
    versionMs: 75, versionCpuMs: 70, idleSeconds: 30,
    serve: { healthzMs: 310, healthzCpuMs: 280, rssEarlyMb: 79.2, rssIdleMb: 72.1 },
    npmStart: { healthzMs: 620, healthzCpuMs: 590, rssEarlyMb: 81.5, rssIdleMb: 73, npmRssMb: 60.2 },
  };

  it('prints each figure beside its goal and says which are met', () => {
    const table = footprintMarkdown(figures);
    assert.match(table, /\| `parley --version`: median wall time \(CPU time\) \| 75 ms \(70 ms\) \| < 200 ms \| yes \|/);
    assert.match(table, /\| `npm start`: spawn to \/healthz answering \(CPU time of npm, sh and the server until then\) \| 620 ms \(590 ms\) \| < 500 ms \| \*\*no\*\* \|/);
    assert.match(table, /\| `npm start`: the server process's idle RSS 5 s after start \| 81\.5 MB \| < 80 MB \| \*\*no\*\* \|/);
    assert.match(table, /\| `node dist\/parley\.js serve`: idle RSS 30 s after start \| 72\.1 MB \| < 80 MB \| yes \|/);
    assert.match(table, /npm's own process beside it .* \| 60\.2 MB \| – \| – \|/);
    assert.equal(footprintMet(figures), false);
    assert.equal(footprintMet({ ...figures, npmStart: { ...figures.npmStart, healthzMs: 400, rssEarlyMb: 79 } }), true);
  });

  it('comes first in the bench table, before the scenarios', () => {
    const table = markdown([], { date: 'now', command: 'test', machine: 'test', node: process.version, quick: false }, figures);
    assert.match(table, /# Parley benchmark — now\n\nCommand: .*\n\n\| start and idle footprint/);
  });
});
