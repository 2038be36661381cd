/**
 * `rp doctor`'s report: one line per check (ok / warn / FAIL, its name, what was found), the
 * hint under each one that is not ok, and a last line saying whether anything failed. Pure.
 */
import { renderTable } from './tables.js';

/** A check as shown (src/core/doctor.ts's DoctorCheck fits). */
export interface CheckRow {
  id: string;
  status: 'ok' | 'warn' | 'fail';
  detail: string;
  hint?: string;
}

const MARK = { ok: 'ok', warn: 'warn', fail: 'FAIL' } as const;

export function renderDoctor(checks: readonly CheckRow[]): string[] {
  const rows = checks.flatMap((check) => [
    [MARK[check.status], check.id, check.detail],
    ...(check.hint === undefined || check.status === 'ok' ? [] : [['', '', `→ ${check.hint}`]]),
  ]);
  const lines = renderTable([{ header: '' }, { header: '' }, { header: '' }], rows, {
    headers: false,
  });
  const failed = checks.filter((check) => check.status === 'fail').length;
  const warned = checks.filter((check) => check.status === 'warn').length;
  lines.push(
    '',
    failed > 0
      ? `${failed} check(s) failed${warned > 0 ? `, ${warned} warned` : ''}`
      : warned > 0
        ? `nothing failed; ${warned} warning(s)`
        : 'everything is in order',
  );
  return lines;
}
