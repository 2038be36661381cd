import { RpError } from '../core/errors.js';

/**
 * The text shown for an error: `rp: <message>` and, when there is one, a hint on the next line.
 * A stack trace is shown only when DEBUG asks for rp's debug output.
 */
export function renderError(error: unknown, debug: boolean): string {
  if (error instanceof RpError) {
    const lines = [`rp: ${error.message}`];
    if (error.hint) lines.push(`hint: ${error.hint}`);
    if (debug && error.stack) lines.push(error.stack);
    return lines.join('\n') + '\n';
  }
  const message = error instanceof Error ? error.message : String(error);
  const lines = [`rp: unexpected error: ${message}`];
  if (debug && error instanceof Error && error.stack) lines.push(error.stack);
  else lines.push('hint: this is a bug in rp; run again with DEBUG=rp:* for details and report it');
  return lines.join('\n') + '\n';
}
