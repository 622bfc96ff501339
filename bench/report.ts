/**
 * The bench's outputs: a Markdown table (figures per scenario and server, then the ratios
 * against the targets) and an SVG chart of the ratios.
 */
import type { Row, ScenarioId } from './bench.js';
import { footprintMarkdown, type Footprint } from './footprint.js';
import type { ServerKind } from './server-process.js';

const NAMES: Record<ScenarioId, string> = {
  a: '(a) fan-out',
  b: '(b) saturation',
  c: '(c) many rooms',
  d: '(d) idle',
  e: '(e) join storm',
  i: '(i) arrivals',
};

const ORDER: ScenarioId[] = ['a', 'b', 'c', 'd', 'e', 'i'];

export interface Target {
  scenario: ScenarioId;
  what: string;
  /** Parley / reference. */
  ratio: number;
  goal: string;
  met: boolean;
}

function find(rows: Row[], scenario: ScenarioId, server: ServerKind): Row | undefined {
  return rows.find((r) => r.scenario === scenario && r.server === server);
}

/** The issue's targets, as ratios of Parley to the reference in the same run. */
export function targets(rows: Row[]): Target[] {
  const out: Target[] = [];
  const pair = (s: ScenarioId): [Row, Row] | null => {
    const p = find(rows, s, 'parley');
    const r = find(rows, s, 'reference');
    return p && r ? [p, r] : null;
  };
  const a = pair('a');
  if (a) {
    out.push({ scenario: 'a', what: 'missing + duplicated', ratio: a[0].missing + a[0].duplicated, goal: '= 0', met: a[0].missing + a[0].duplicated === 0 });
    out.push({ scenario: 'a', what: 'p99 latency', ratio: a[0].p99 / a[1].p99, goal: '≤ 1', met: a[0].p99 <= a[1].p99 });
  }
  const b = pair('b');
  if (b) {
    out.push({ scenario: 'b', what: 'deliveries/s', ratio: b[0].deliveredPerSec / b[1].deliveredPerSec, goal: '≥ 1.5', met: b[0].deliveredPerSec >= 1.5 * b[1].deliveredPerSec });
    out.push({ scenario: 'b', what: 'CPU per delivery', ratio: b[0].cpuPerDelivery / b[1].cpuPerDelivery, goal: '≤ 0.5', met: b[0].cpuPerDelivery <= 0.5 * b[1].cpuPerDelivery });
  }
  const c = pair('c');
  if (c) {
    out.push({ scenario: 'c', what: 'CPU per delivery', ratio: c[0].cpuPerDelivery / c[1].cpuPerDelivery, goal: '≤ 1', met: c[0].cpuPerDelivery <= c[1].cpuPerDelivery });
    out.push({ scenario: 'c', what: 'p99 latency (durability on)', ratio: c[0].p99 / c[1].p99, goal: '≤ 1', met: c[0].p99 <= c[1].p99 });
  }
  const d = pair('d');
  if (d) {
    out.push({ scenario: 'd', what: 'RSS per idle connection', ratio: d[0].rssPerConnKiB / d[1].rssPerConnKiB, goal: '≤ 1.2', met: d[0].rssPerConnKiB <= 1.2 * d[1].rssPerConnKiB });
    if (d[0].heapPerConnKiB !== undefined && d[1].heapPerConnKiB !== undefined) {
      out.push({ scenario: 'd', what: 'JS heap per idle connection (after a full GC: the steady part of the RSS figure)', ratio: d[0].heapPerConnKiB / d[1].heapPerConnKiB, goal: '≤ 1.2', met: d[0].heapPerConnKiB <= 1.2 * d[1].heapPerConnKiB });
    }
    out.push({ scenario: 'd', what: 'handshakes/s', ratio: d[0].handshakesPerSec / d[1].handshakesPerSec, goal: '≥ 0.8', met: d[0].handshakesPerSec >= 0.8 * d[1].handshakesPerSec });
  }
  const e = pair('e');
  if (e && e[0].noticesPerJoin !== undefined && e[1].noticesPerJoin !== undefined) {
    out.push({ scenario: 'e', what: 'notice frames per join (O(n) total: stays flat as n grows)', ratio: e[0].noticesPerJoin / Math.max(1e-9, e[1].noticesPerJoin), goal: '≪ 1', met: e[0].noticesPerJoin <= 10 });
  }
  const i = pair('i');
  if (i) {
    out.push({ scenario: 'i', what: 'arrivals/s (connect, name, join general)', ratio: i[0].deliveredPerSec / i[1].deliveredPerSec, goal: '≥ 1', met: i[0].deliveredPerSec >= i[1].deliveredPerSec });
    out.push({ scenario: 'i', what: 'arrivals not acknowledged', ratio: i[0].missing, goal: '= 0', met: i[0].missing === 0 });
  }
  // The issue's goals stated against Socket.IO (`--servers parley,reference,socketio`).
  const sc = find(rows, 'c', 'parley');
  const ioc = find(rows, 'c', 'socketio');
  if (sc && ioc) {
    out.push({ scenario: 'c', what: 'p99 latency, Parley ÷ Socket.IO', ratio: sc.p99 / ioc.p99, goal: '≤ 1', met: sc.p99 <= ioc.p99 });
    if (ioc.missing + ioc.duplicated > 0) out.push({ scenario: 'c', what: 'missing + duplicated (Socket.IO)', ratio: ioc.missing + ioc.duplicated, goal: '= 0', met: false });
  }
  const si = find(rows, 'i', 'parley');
  const ioi = find(rows, 'i', 'socketio');
  if (si && ioi) {
    out.push({ scenario: 'i', what: 'arrivals/s, Parley ÷ Socket.IO', ratio: si.deliveredPerSec / ioi.deliveredPerSec, goal: '≥ 1', met: si.deliveredPerSec >= ioi.deliveredPerSec });
  }
  // Parley on a seeded database against Parley on an empty one (`--seeded N`).
  for (const s of ['a', 'c'] as const) {
    const empty = find(rows, s, 'parley');
    const seeded = find(rows, s, 'parley-seeded');
    if (!empty || !seeded) continue;
    out.push({
      scenario: s, what: 'CPU per delivery, Parley on the seeded database ÷ on an empty one', ratio: seeded.cpuPerDelivery / empty.cpuPerDelivery,
      goal: '≤ 1.1', met: seeded.cpuPerDelivery <= 1.1 * empty.cpuPerDelivery,
    });
    if (seeded.missing + seeded.duplicated > 0) out.push({ scenario: s, what: 'missing + duplicated (seeded)', ratio: seeded.missing + seeded.duplicated, goal: '= 0', met: false });
  }
  for (const s of ORDER) {
    if (s === 'i') continue;
    const p = find(rows, s, 'parley');
    if (p && (p.missing > 0 || p.duplicated > 0) && s !== 'a') {
      out.push({ scenario: s, what: 'missing + duplicated', ratio: p.missing + p.duplicated, goal: '= 0', met: false });
    }
  }
  return out;
}

const f = (n: number, digits = 1): string => (Number.isFinite(n) ? n.toFixed(digits) : '–');
const int = (n: number): string => (n ? Math.round(n).toLocaleString('en-US') : '–');

export function markdown(rows: Row[], meta: { date: string; command: string; machine: string; node: string; quick: boolean; durable?: boolean; seeded?: number; load?: string }, footprint?: Footprint): string {
  const lines = [
    `# Parley benchmark — ${meta.date}${meta.quick ? ' (quick smoke run: small scale, not comparable)' : ''}`,
    '',
    `Command: \`${meta.command}\` · Machine: ${meta.machine} · Node ${meta.node}${meta.load ? ` · load average ${meta.load}` : ''}`,
    '',
    ...(footprint ? [footprintMarkdown(footprint), ''] : []),
  ];
  if (rows.length === 0) return `${lines.join('\n')}\n`;
  lines.push(
    meta.durable === false
      ? 'Parley runs on its memory store, WITHOUT durability (a diagnostic run: what the SQLite store costs); the reference is a minimal `ws` broadcast server'
      : 'Parley runs with SQLite durability on (a temp file, WAL, group commit); the reference is a minimal `ws` broadcast server',
    '(one `JSON.stringify` per message, one `send` per member). Both are child processes measured from /proc; the load generator',
    'shares the 2 cores, its CPU is in the last column (% of one core).',
    ...(rows.some((r) => r.server === 'socketio') ? [
      'socketio is an idiomatic Socket.IO 4 server (bench/socketio-server.ts: `socket.join`, `io.to(room).emit`, acknowledgement callbacks;',
      'the WebSocket transport only, compression off, other options at their defaults); the load generator speaks its packets itself.',
    ] : []),
    ...(meta.seeded !== undefined ? [
      `parley-seeded is the same Parley on a SQLite database seeded with ${meta.seeded.toLocaleString('en-US')} messages (bench/seed-data.ts: 2,000 rooms,`,
      '1,000 direct conversations, 10,000 accounts with memberships, reactions, edits; its biggest room is (a)\'s "general", the next (c)\'s rooms),',
      'in the same slices as the others: its CPU per delivery against Parley\'s on an empty database is the figure to read.',
    ] : []),
    '',
    '| scenario | server | conns | delivered/s | missing | dup | p50 ms | p99 ms | max ms | server CPU µs/delivery (sys %) | handshakes/s | RSS KiB/conn | notices/join | writes/frame | load CPU % |',
    '|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|',
  );
  for (const s of ORDER) {
    for (const r of rows.filter((x) => x.scenario === s)) {
      const traffic = r.delivered > 0;
      lines.push(`| ${NAMES[s]} | ${r.server} | ${int(r.connections)} | ${s === 'e' ? `${int(r.deliveredPerSec)} joins/s` : s === 'i' ? `${int(r.deliveredPerSec)} arrivals/s` : int(r.deliveredPerSec)} | ` +
        `${traffic ? r.missing : '–'} | ${traffic ? r.duplicated : '–'} | ${traffic ? f(r.p50, 2) : '–'} | ${traffic ? f(r.p99, 2) : '–'} | ${traffic ? f(r.max, 1) : '–'} | ` +
        `${f(r.cpuPerDelivery, 2)}${s === 'd' ? ' per handshake' : s === 'e' ? ' per join' : s === 'i' ? ' per arrival' : ''} (${Math.round(r.systemShare * 100)}%) | ${int(r.handshakesPerSec)} | ${rssCell(r)} | ` +
        `${r.noticesPerJoin !== undefined ? f(r.noticesPerJoin, 2) : '–'} | ${r.writesPerFrame !== undefined ? f(r.writesPerFrame, 3) : '–'} | ${f(r.loadCpuPct, 0)} |`);
    }
  }
  const timed = rows.filter((r) => r.firstCopy && r.lastCopy && r.firstCopy.count > 0);
  if (timed.length > 0) {
    lines.push(
      '', 'Per message, ms from send: its first copy (the fan-out has begun) and its last (every member has it); and the server\'s',
      'event-loop delay in the measured slices (perf_hooks.monitorEventLoopDelay, 1 ms resolution; the worst slice\'s p99 and max).', '',
      '| scenario | server | messages | first copy p50 | first copy p99 | last copy p50 | last copy p99 | loop delay p99 ms | loop delay max ms |', '|---|---|--:|--:|--:|--:|--:|--:|--:|',
    );
    for (const r of timed) {
      lines.push(`| ${NAMES[r.scenario]} | ${r.server} | ${int(r.firstCopy!.count)} | ${f(r.firstCopy!.p50, 2)} | ${f(r.firstCopy!.p99, 2)} | ${f(r.lastCopy!.p50, 2)} | ${f(r.lastCopy!.p99, 2)} | ` +
        `${r.loopDelay ? f(r.loopDelay.p99, 2) : '–'} | ${r.loopDelay ? f(r.loopDelay.max, 1) : '–'} |`);
    }
  }
  const t = targets(rows);
  if (t.length > 0) {
    lines.push('', '| target | Parley / reference (or as named) | goal | met |', '|---|--:|---|---|');
    for (const x of t) lines.push(`| ${NAMES[x.scenario]}: ${x.what} | ${f(x.ratio, 2)} | ${x.goal} | ${x.met ? 'yes' : '**no**'} |`);
  }
  return `${lines.join('\n')}\n`;
}

/** A small bar chart: for each metric and scenario, Parley and the reference side by side, each pair on its own scale. */
export function svg(rows: Row[], title: string): string {
  const panels: Array<{ label: string; better: string; values: Array<{ s: ScenarioId; p: number; r: number }> }> = [];
  const pick = (label: string, better: string, scenarios: ScenarioId[], get: (r: Row) => number): void => {
    const values = scenarios.flatMap((s) => {
      const p = find(rows, s, 'parley');
      const r = find(rows, s, 'reference');
      return p && r ? [{ s, p: get(p), r: get(r) }] : [];
    });
    if (values.length > 0) panels.push({ label, better, values });
  };
  pick('server CPU µs per delivery', 'lower is better', ['a', 'b', 'c'], (r) => r.cpuPerDelivery);
  pick('deliveries per second', 'higher is better', ['a', 'b', 'c'], (r) => r.deliveredPerSec);
  pick('p99 latency, ms', 'lower is better', ['a', 'b', 'c'], (r) => r.p99);
  pick('idle: RSS KiB per connection · handshakes/s', 'RSS lower, handshakes higher', ['d'], (r) => r.rssPerConnKiB);
  pick('join storm: notice frames per join', 'lower is better', ['e'], (r) => r.noticesPerJoin ?? 0);
  const d = panels.find((x) => x.label.startsWith('idle'));
  if (d) {
    const p = find(rows, 'd', 'parley')!;
    const r = find(rows, 'd', 'reference')!;
    d.values.push({ s: 'd', p: p.handshakesPerSec, r: r.handshakesPerSec });
  }
  const W = 300;
  const H = 190;
  const cols = 3;
  const width = cols * W;
  const height = 50 + Math.ceil(panels.length / cols) * H;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="10" y="20" font-size="14" font-weight="bold">${esc(title)}</text>`,
    `<rect x="${width - 200}" y="10" width="10" height="10" fill="#2b6cb0"/><text x="${width - 185}" y="19">Parley</text>`,
    `<rect x="${width - 120}" y="10" width="10" height="10" fill="#a0aec0"/><text x="${width - 105}" y="19">reference</text>`,
  ];
  panels.forEach((panel, i) => {
    const x0 = (i % cols) * W + 10;
    const y0 = 40 + Math.floor(i / cols) * H;
    const plotH = H - 60;
    out.push(`<text x="${x0}" y="${y0 + 12}" font-weight="bold">${esc(panel.label)}</text>`);
    out.push(`<text x="${x0}" y="${y0 + 25}" fill="#555">${esc(panel.better)}</text>`);
    const group = (W - 30) / panel.values.length;
    panel.values.forEach((v, j) => {
      const gx = x0 + j * group;
      const bw = Math.min(40, group / 3);
      // Each pair on its own scale (the larger bar full height): the ratio is what to read.
      const max = Math.max(1e-9, v.p, v.r);
      const bars: Array<[number, string]> = [[v.p, '#2b6cb0'], [v.r, '#a0aec0']];
      bars.forEach(([val, color], k) => {
        const h = (val / max) * (plotH - 20);
        const bx = gx + group / 2 - bw + k * bw;
        const by = y0 + 30 + plotH - h;
        out.push(`<rect x="${bx.toFixed(1)}" y="${by.toFixed(1)}" width="${(bw - 2).toFixed(1)}" height="${h.toFixed(1)}" fill="${color}"/>`);
        out.push(`<text x="${(bx + bw / 2 - 1).toFixed(1)}" y="${(by - 3).toFixed(1)}" text-anchor="middle" font-size="9">${esc(short(val))}</text>`);
      });
      const label = panel.label.startsWith('idle') ? (j === 0 ? 'RSS' : 'handshakes/s') : NAMES[v.s].split(' ')[0]!;
      out.push(`<text x="${(gx + group / 2).toFixed(1)}" y="${y0 + 30 + plotH + 14}" text-anchor="middle">${esc(label)}</text>`);
    });
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

function short(n: number): string {
  if (n >= 10_000) return `${Math.round(n / 1000)}k`;
  if (n >= 100) return String(Math.round(n));
  if (n >= 10) return n.toFixed(1);
  return n.toFixed(2);
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** RSS per connection, with the (d) row's JS heap per connection beside it. */
function rssCell(r: Row): string {
  if (!r.rssPerConnKiB) return '–';
  return r.heapPerConnKiB !== undefined ? `${f(r.rssPerConnKiB, 1)} (heap ${f(r.heapPerConnKiB, 2)})` : f(r.rssPerConnKiB, 1);
}
