/**
 * A server message on its way to many connections. Each wire form (JSON; text for members
 * whose current room is the message's room; text tagged with the room for the others) is
 * serialised at most once, however many recipients there are.
 */
import type { ServerMessage } from '../../protocol/messages.js';
import { formatText } from '../../protocol/text.js';
import type { WireMode } from '../ports.js';

const UNSET = Symbol('unset');

export class Outbound {
  private jsonForm: string | undefined;
  private textHere: string | null | typeof UNSET = UNSET;
  private textTagged: string | null | typeof UNSET = UNSET;
  private readonly room: string | undefined;

  constructor(readonly msg: ServerMessage) {
    this.room = 'room' in msg && typeof msg.room === 'string' ? msg.room : undefined;
  }

  json(): string {
    return (this.jsonForm ??= JSON.stringify(this.msg));
  }

  /** The text line for a text-mode recipient whose current room is `current`, or null to show nothing. */
  text(current: string | null): string | null {
    if (this.room === undefined || this.room === current) {
      if (this.textHere === UNSET) this.textHere = formatText(this.msg, this.room ?? current);
      return this.textHere;
    }
    if (this.textTagged === UNSET) this.textTagged = formatText(this.msg, current);
    return this.textTagged;
  }

  /** The frame for one recipient, or null when its mode shows nothing for this message. */
  frameFor(mode: WireMode, current: string | null): string | null {
    return mode === 'json' ? this.json() : this.text(current);
  }
}

/**
 * A JSON object's text with more fields appended (undefined ones skipped): the sender's echo
 * of a broadcast is the broadcast's text plus `ref` and `nonce`, without serialising it again.
 */
export function withFields(json: string, fields: Record<string, unknown>): string {
  let extra = '';
  for (const [k, v] of Object.entries(fields)) {
    if (v !== undefined) extra += `,${JSON.stringify(k)}:${JSON.stringify(v)}`;
  }
  return extra === '' ? json : `${json.slice(0, -1)}${extra}}`;
}

/** The `ref` of a request, to spread into its direct answer (nothing when it had none). */
export function refOf(msg: { ref?: string | number | undefined }): { ref?: string | number } {
  return msg.ref !== undefined ? { ref: msg.ref } : {};
}

/** refOf as frame text, for answers put together by hand: `,"ref":…` or nothing. */
export function refText(msg: { ref?: string | number | undefined }): string {
  return msg.ref !== undefined ? `,"ref":${JSON.stringify(msg.ref)}` : '';
}
