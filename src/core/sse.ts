/**
 * Server-Sent Events framing for `GET /api/v1/jobs/:id/logs` (the WHATWG "event stream" format),
 * and where a resumed stream starts. Pure.
 */

export interface SseEvent {
  /** The event's id: for a log, the byte offset just past its text. */
  id?: string;
  event?: string;
  data: string;
}

/** One event as the stream carries it: a field per line, data split on line ends, a blank line. */
export function sseFrame(event: SseEvent): string {
  const lines: string[] = [];
  if (event.event !== undefined) lines.push(`event: ${oneLine(event.event)}`);
  if (event.id !== undefined) lines.push(`id: ${oneLine(event.id)}`);
  for (const line of event.data.split(/\r\n|\r|\n/)) lines.push(`data: ${line}`);
  return `${lines.join('\n')}\n\n`;
}

/** A comment line: keeps proxies and browsers from closing an idle stream. */
export const SSE_KEEPALIVE = ': keepalive\n\n';

function oneLine(text: string): string {
  return text.replace(/[\r\n]/g, ' ');
}

/**
 * Where a log stream starts: the `offset` query parameter when given, else the `Last-Event-ID`
 * a reconnecting browser sends (the offset of the last event it got), else 0. Undefined: neither
 * is a whole number of bytes.
 */
export function streamStart(
  query: number | undefined,
  lastEventId: string | undefined,
): number | undefined {
  if (query !== undefined) return query;
  if (lastEventId === undefined || lastEventId === '') return 0;
  return /^\d{1,15}$/.test(lastEventId) ? Number(lastEventId) : undefined;
}

/**
 * How many leading bytes of `bytes` end on a whole UTF-8 character, so that an event never carries
 * half a character (the rest comes with the next read, at the offset this returns).
 */
export function wholeUtf8Length(bytes: Uint8Array): number {
  const end = bytes.length;
  // A character is at most 4 bytes: look back at most 3 for the start of the last one.
  for (let back = 1; back <= Math.min(4, end); back += 1) {
    const byte = bytes[end - back] as number;
    if ((byte & 0xc0) === 0x80) continue; // a continuation byte
    const size = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc0 ? 2 : 1;
    return size > back ? end - back : end;
  }
  return end;
}
