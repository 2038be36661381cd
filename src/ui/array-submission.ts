/** What `rp run --array` / `--sweep` prints once every task is queued. */
import { jobLabel } from '../core/ledger-state.js';
import type { ArrayResult } from '../services/submit-array.js';

export function describeArraySubmission(result: ArrayResult): string[] {
  const [first] = result.tasks;
  if (first === undefined) return [];
  const last = result.tasks.at(-1) ?? first;
  const id = first.id;
  const count = result.tasks.length;
  const span = count === 1 ? jobLabel(first) : `${jobLabel(first)} … ${jobLabel(last)}`;
  const limit = result.limit === undefined ? '' : `, at most ${result.limit} at once`;
  return [
    `rp${id}: ${count} task${count === 1 ? '' : 's'} (${span}) queued to run in the background${limit}`,
    `their output goes to ${result.logDir}/${result.logName}_${id}_<task>.log`,
    `follow one with: rp logs ${jobLabel(first)} -f    stop them all with: rp kill ${id}`,
  ];
}
