/**
 * Shell completion: what may come next on an `rp` command line. The shells' scripts (see
 * completionScript) hand every word typed after `rp` to `rp complete`, which answers with this.
 * Pure: the commands and their flags come from oclif's manifest, the job ids and names from the
 * caller.
 */

export interface CompletionFlag {
  name: string;
  char?: string;
  /** Whether the flag reads the next word as its value (`--on gpu1`). */
  takesValue: boolean;
  /** The values it accepts, when it names them. */
  options?: readonly string[];
}

export interface CompletionCommand {
  /** The command's words, space separated: `activity add`. */
  id: string;
  flags: readonly CompletionFlag[];
  /** Its arguments, in order, with the values they accept when they name them. */
  args: readonly { name: string; options?: readonly string[] }[];
}

/** Values only the host or the user knows: looked up when they are what comes next. */
export type ValueKind = 'job' | 'activity' | 'remote';

export type Completion =
  /** These words (already filtered by what was typed of the current one). */
  | { kind: 'words'; words: string[] }
  /** The values of this kind that start with `prefix`. */
  | { kind: 'values'; of: ValueKind; prefix: string }
  /** Nothing rp knows better: the shell completes file names. */
  | { kind: 'files' };

/** The arguments and flag values that name a job, an activity or a remote. */
const VALUES: Readonly<Record<string, ValueKind>> = {
  'kill job': 'job',
  'kill --pid': 'job',
  'logs id': 'job',
  'activity show name': 'activity',
  'activity remove name': 'activity',
  'activity status name': 'activity',
  'drop activity': 'activity',
  'remote remove name': 'remote',
};

/** Every command's flag `--on` names a remote. */
const REMOTE_FLAG = 'on';

/**
 * What may follow `typed`: the words after `rp`, the last being the one under the cursor (empty
 * when the cursor is after a space).
 */
export function complete(
  commands: readonly CompletionCommand[],
  typed: readonly string[],
): Completion {
  const current = typed.at(-1) ?? '';
  const before = typed.slice(0, -1);
  const path: string[] = [];
  for (const word of before) {
    const next = [...path, word].join(' ');
    if (word.startsWith('-') || !commands.some((c) => c.id === next || isUnder(c.id, next))) break;
    path.push(word);
  }
  const command = commands.find((c) => c.id === path.join(' '));
  if (command === undefined || (path.length === before.length && hasSubcommands(commands, path))) {
    // Still choosing the command: its next word, from every command under what was typed.
    if (path.length < before.length) return { kind: 'files' };
    return words(nextWords(commands, path), current);
  }

  const rest = before.slice(path.length);
  const previous = rest.at(-1);
  const valueFlag = previous === undefined ? undefined : flagNamed(command, previous);
  if (valueFlag?.takesValue) {
    if (valueFlag.options) return words([...valueFlag.options], current);
    const kind =
      valueFlag.name === REMOTE_FLAG ? 'remote' : VALUES[`${command.id} --${valueFlag.name}`];
    return kind === undefined ? { kind: 'files' } : { kind: 'values', of: kind, prefix: current };
  }
  if (current.startsWith('-')) {
    const used = new Set(rest.map((word) => flagNamed(command, word)?.name));
    const names = command.flags
      .filter((flag) => !used.has(flag.name))
      .map((flag) => `--${flag.name}`)
      .sort();
    return words(names, current);
  }
  const position = positionals(command, rest);
  const arg = command.args[position];
  if (arg?.options) return words([...arg.options], current);
  const kind = arg === undefined ? undefined : VALUES[`${command.id} ${arg.name}`];
  return kind === undefined ? { kind: 'files' } : { kind: 'values', of: kind, prefix: current };
}

/** The values of `of` that start with `prefix`, sorted, as the answer's words. */
export function matchingValues(values: readonly string[], prefix: string): string[] {
  return [...new Set(values)].filter((value) => value.startsWith(prefix)).sort();
}

function words(candidates: string[], current: string): Completion {
  return { kind: 'words', words: candidates.filter((word) => word.startsWith(current)) };
}

function isUnder(id: string, path: string): boolean {
  return id.startsWith(`${path} `);
}

function hasSubcommands(commands: readonly CompletionCommand[], path: readonly string[]): boolean {
  const prefix = path.join(' ');
  return commands.some((c) => (prefix === '' ? true : isUnder(c.id, prefix)));
}

function nextWords(commands: readonly CompletionCommand[], path: readonly string[]): string[] {
  const prefix = path.join(' ');
  const next = commands
    .filter((c) => prefix === '' || isUnder(c.id, prefix))
    .map((c) => c.id.split(' ')[path.length])
    .filter((word): word is string => word !== undefined);
  return [...new Set(next)].sort();
}

/** The flag a word names: `--on`, `--on=x`, `-n`; undefined for anything else. */
function flagNamed(command: CompletionCommand, word: string): CompletionFlag | undefined {
  if (word.startsWith('--')) {
    const name = word.slice(2).split('=')[0];
    const flag = command.flags.find((f) => f.name === name);
    // `--on=gpu1` carries its value: the next word is not it.
    return flag && word.includes('=') ? { ...flag, takesValue: false } : flag;
  }
  if (/^-[^-]$/.test(word)) return command.flags.find((f) => f.char === word.slice(1));
  return undefined;
}

/** How many arguments come before the cursor: the words that are neither flags nor their values. */
function positionals(command: CompletionCommand, rest: readonly string[]): number {
  let count = 0;
  for (let i = 0; i < rest.length; i += 1) {
    const word = rest[i] as string;
    const flag = flagNamed(command, word);
    if (flag) {
      if (flag.takesValue) i += 1;
    } else if (!word.startsWith('-')) {
      count += 1;
    }
  }
  return count;
}
