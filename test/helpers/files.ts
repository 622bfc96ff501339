/** Helpers for file tests: a registered JSON client with its token, uploads over real HTTP, small images. */
import { request } from 'node:http';
import sharp from 'sharp';
import type { Attachment, ServerMessage } from '../../src/protocol/messages.js';
import { TestClient, jsonUser } from './ws-client.js';

export type Json = TestClient<ServerMessage>;

/** A JSON client registered as `name` (in general), and its login token. */
export async function registeredUser(url: string, name: string): Promise<{ c: Json; token: string }> {
  const c = await jsonUser(url, name);
  c.send({ type: 'Register', username: name, password: 'correct horse battery', ref: 'reg' });
  const answer = await c.nextOfType('LoggedIn', (m) => m.ref === 'reg', 10_000);
  return { c, token: answer.token };
}

/** A PNG of the given size. */
export function png(width = 20, height = 10): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: { r: 200, g: 30, b: 30 } } }).png().toBuffer();
}

export interface UploadAnswer { status: number; body: Record<string, unknown>; headers: Headers }

/** POSTs one file (field `file`) to /api/files. */
export async function upload(httpUrl: string, token: string | null, bytes: Buffer, name: string, type = 'application/octet-stream'): Promise<UploadAnswer> {
  const form = new FormData();
  form.append('file', new Blob([new Uint8Array(bytes)], { type }), name);
  const res = await fetch(`${httpUrl}/api/files`, { method: 'POST', body: form, headers: token === null ? {} : { Authorization: `Bearer ${token}` } });
  return { status: res.status, body: (await res.json()) as Record<string, unknown>, headers: res.headers };
}

export async function uploaded(httpUrl: string, token: string, bytes: Buffer, name: string): Promise<Attachment> {
  const answer = await upload(httpUrl, token, bytes, name);
  if (answer.status !== 201) throw new Error(`upload answered ${answer.status}: ${JSON.stringify(answer.body)}`);
  return answer.body as unknown as Attachment;
}

/**
 * Starts an upload of `total` bytes (declared in Content-Length), sends `sent` of them and
 * drops the connection. Resolves once the socket is closed.
 */
export function interruptedUpload(port: number, token: string, total: number, sent: number): Promise<void> {
  return new Promise((resolve) => {
    const boundary = 'xxBOUNDARYxx';
    const head = Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.bin"\r\nContent-Type: application/octet-stream\r\n\r\n`);
    const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
    const req = request({
      host: '127.0.0.1', port, method: 'POST', path: '/api/files',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': `multipart/form-data; boundary=${boundary}`, 'Content-Length': String(head.length + total + tail.length) },
    });
    req.on('error', () => resolve());
    req.on('close', () => resolve());
    req.write(head);
    req.write(Buffer.alloc(sent, 7), () => setTimeout(() => req.destroy(), 200));
  });
}

/**
 * Starts an upload of `bytes` (field `file`) whose body the test sends in parts: `write`
 * resolves once a part is handed to the socket, `end` sends the closing boundary and
 * resolves the answer.
 */
export function startedUpload(port: number, token: string, bytes: Buffer, name: string): { write(part: Buffer): Promise<void>; end(): Promise<{ status: number; body: Record<string, unknown> }> } {
  const boundary = 'xxBOUNDARYxx';
  const head = Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${name}"\r\nContent-Type: application/octet-stream\r\n\r\n`);
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  const req = request({
    host: '127.0.0.1', port, method: 'POST', path: '/api/files',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': `multipart/form-data; boundary=${boundary}`, 'Content-Length': String(head.length + bytes.length + tail.length) },
  });
  const answer = new Promise<{ status: number; body: Record<string, unknown> }>((resolve, reject) => {
    req.on('error', reject);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown> }));
    });
  });
  req.write(head);
  return {
    write: (part) => new Promise<void>((resolve, reject) => req.write(part, (error) => (error ? reject(error) : resolve()))),
    end: () => {
      req.end(tail);
      return answer;
    },
  };
}
