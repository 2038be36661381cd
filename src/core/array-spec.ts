/**
 * Sweeps as data: Slurm's array syntax (`--array 0-99%4`) and rp's grids (`--sweep lr=1e-3,3e-4
 * --sweep seed=1..3`), expanded into the tasks of one submission, and the `{name}` placeholders
 * of a task's script line. Pure; every problem is a UsageError naming the flag and the text.
 */
import { UsageError } from './errors.js';

/** The most tasks one submission may hold (Slurm's default MaxArraySize is 1001). */
export const MAX_TASKS = 10_000;

export interface ArraySpec {
  /** Task indices in the order given, without repeats. */
  indices: number[];
  /** `%N`: at most this many tasks run at once. */
  maxRunning?: number;
}

const ARRAY_HINT = 'e.g. --array 0-99, --array 1,3,5, --array 0-100:10 or --array 0-99%4';

/**
 * Parses Slurm's array syntax: comma-separated indices and ranges (`A-B`, `A-B:STEP`), then an
 * optional `%N` limit on the tasks running at once.
 */
export function parseArraySpec(text: string): ArraySpec {
  const trimmed = text.trim();
  const [list = '', limit, extra] = trimmed.split('%');
  if (extra !== undefined) throw arrayError(text, 'more than one "%"');
  const indices: number[] = [];
  const seen = new Set<number>();
  for (const part of list.split(',')) {
    for (const index of expandPart(part.trim(), text)) {
      if (seen.has(index)) continue;
      seen.add(index);
      indices.push(index);
      if (indices.length > MAX_TASKS) {
        throw arrayError(text, `more than ${MAX_TASKS} tasks`);
      }
    }
  }
  const spec: ArraySpec = { indices };
  if (limit !== undefined) {
    if (!/^[1-9][0-9]*$/.test(limit)) {
      throw arrayError(text, `"%${limit}" is not a number of tasks (1 or more)`);
    }
    spec.maxRunning = Number(limit);
  }
  return spec;
}

function expandPart(part: string, text: string): number[] {
  const match = /^([0-9]+)(?:-([0-9]+)(?::([0-9]+))?)?$/.exec(part);
  if (!match?.[1]) {
    throw arrayError(text, part === '' ? 'an empty entry' : `"${part}" is not an index or a range`);
  }
  const first = Number(match[1]);
  if (match[2] === undefined) return [first];
  const last = Number(match[2]);
  const step = match[3] === undefined ? 1 : Number(match[3]);
  if (last < first) throw arrayError(text, `the range ${part} ends before it starts`);
  if (step < 1) throw arrayError(text, `the step of ${part} must be 1 or more`);
  if ((last - first) / step + 1 > MAX_TASKS) {
    throw arrayError(text, `more than ${MAX_TASKS} tasks`);
  }
  const indices: number[] = [];
  for (let index = first; index <= last; index += step) indices.push(index);
  return indices;
}

function arrayError(text: string, why: string): UsageError {
  return new UsageError(`--array ${text}: ${why}`, { hint: ARRAY_HINT });
}

/** One `--sweep name=values` parameter. */
export interface SweepParameter {
  name: string;
  values: string[];
}

const SWEEP_HINT = 'e.g. --sweep lr=1e-3,3e-4,1e-4 or --sweep seed=1..3';

/**
 * Parses `name=v1,v2,...` or `name=A..B` (whole numbers, both ends included). The name is what
 * `{name}` in --script refers to, and the task sees it as RP_SWEEP_<NAME>.
 */
export function parseSweepParameter(text: string): SweepParameter {
  const equals = text.indexOf('=');
  if (equals < 0) throw sweepError(text, 'expected NAME=VALUES');
  const name = text.slice(0, equals).trim();
  const valuesText = text.slice(equals + 1).trim();
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
    throw sweepError(text, `"${name}" is not a name (letters, digits and "_", not first a digit)`);
  }
  if (name === 'i') throw sweepError(text, '"i" is the array task index; choose another name');
  const range = /^(-?[0-9]+)\.\.(-?[0-9]+)$/.exec(valuesText);
  let values: string[];
  if (range?.[1] !== undefined && range[2] !== undefined) {
    const first = Number(range[1]);
    const last = Number(range[2]);
    if (last < first) throw sweepError(text, `the range ${valuesText} ends before it starts`);
    if (last - first + 1 > MAX_TASKS) throw sweepError(text, `more than ${MAX_TASKS} values`);
    values = Array.from({ length: last - first + 1 }, (_, k) => String(first + k));
  } else {
    values = valuesText.split(',').map((value) => value.trim());
    if (values.some((value) => value === '')) throw sweepError(text, 'an empty value');
  }
  if (new Set(values).size !== values.length) throw sweepError(text, 'a value is listed twice');
  return { name, values };
}

function sweepError(text: string, why: string): UsageError {
  return new UsageError(`--sweep ${text}: ${why}`, { hint: SWEEP_HINT });
}

/**
 * The cartesian product of the parameters, the first varying slowest: lr=a,b × seed=1..2 gives
 * (a,1) (a,2) (b,1) (b,2). Names must differ.
 */
export function expandGrid(parameters: readonly SweepParameter[]): Array<Record<string, string>> {
  const names = new Set<string>();
  let total = 1;
  for (const parameter of parameters) {
    if (names.has(parameter.name)) {
      throw new UsageError(`--sweep ${parameter.name} is given twice`, { hint: SWEEP_HINT });
    }
    names.add(parameter.name);
    total *= parameter.values.length;
  }
  if (total > MAX_TASKS) {
    throw new UsageError(`the sweep has ${total} tasks; at most ${MAX_TASKS} are allowed`, {
      hint: 'split it into several submissions',
    });
  }
  let tasks: Array<Record<string, string>> = [{}];
  for (const parameter of parameters) {
    tasks = tasks.flatMap((task) =>
      parameter.values.map((value) => ({ ...task, [parameter.name]: value })),
    );
  }
  return tasks;
}

/**
 * Task `index` of the grid, as expandGrid(parameters)[index] without building the whole grid:
 * the first parameter varies slowest.
 */
export function gridTask(
  parameters: readonly SweepParameter[],
  index: number,
): Record<string, string> {
  const picked: Array<[string, string]> = [];
  let rest = index;
  for (let p = parameters.length - 1; p >= 0; p -= 1) {
    const { name, values } = parameters[p] as SweepParameter;
    picked.push([name, values[rest % values.length] as string]);
    rest = Math.floor(rest / values.length);
  }
  return Object.fromEntries(picked.reverse());
}

/**
 * The script line of one task: each `{name}` replaced by its value (`{i}` by the array index).
 * A placeholder without a value is an error, so a typo never runs a task with "{lr}" in it;
 * `{{` and `}}` stand for literal braces.
 */
export function substitutePlaceholders(script: string, values: Record<string, string>): string {
  return script.replace(/\{\{|\}\}|\{([^{}]*)\}/g, (whole, name: string | undefined) => {
    if (whole === '{{') return '{';
    if (whole === '}}') return '}';
    const key = (name ?? '').trim();
    const value = Object.hasOwn(values, key) ? values[key] : undefined;
    if (value === undefined) {
      const known = Object.keys(values)
        .map((known) => `{${known}}`)
        .join(', ');
      throw new UsageError(`--script: no value for {${key}}`, {
        hint: known === '' ? 'write {{ and }} for literal braces' : `this submission has ${known}`,
      });
    }
    return value;
  });
}

/** RP_SWEEP_<NAME> for each value of a grid task. */
export function sweepEnvironment(values: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(values).map(([name, value]) => [`RP_SWEEP_${name.toUpperCase()}`, value]),
  );
}
