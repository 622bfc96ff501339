/** JSON answers of the file routes: `{code, message}` errors with their HTTP status. */
import type { ServerResponse } from 'node:http';
import { ERRORS, type ErrorCode } from '../../protocol/codes.js';

/** An error a file route answers with: its HTTP status and one of the protocol's codes. */
export class HttpError extends Error {
  constructor(readonly status: number, readonly code: ErrorCode, message?: string) {
    super(message ?? ERRORS[code].message);
  }
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store', 'Content-Length': String(Buffer.byteLength(text)), ...headers });
  res.end(text);
}

export function sendError(res: ServerResponse, e: HttpError, headers: Record<string, string> = {}): void {
  sendJson(res, e.status, { code: e.code, message: e.message }, headers);
}
