import { describe, expect, it } from 'vitest';
import { complete, matchingValues, type CompletionCommand } from '../../src/core/completion.js';

const on = { name: 'on', takesValue: true };
const json = { name: 'json', takesValue: false };
const COMMANDS: CompletionCommand[] = [
  { id: 'kill', flags: [{ name: 'pid', takesValue: true }, json, on], args: [{ name: 'job' }] },
  {
    id: 'logs',
    flags: [{ name: 'follow', char: 'f', takesValue: false }, on],
    args: [{ name: 'id' }],
  },
  {
    id: 'run',
    flags: [
      { name: 'gpu', takesValue: true },
      { name: 'backend', takesValue: true, options: ['local', 'slurm'] },
      on,
    ],
    args: [],
  },
  { id: 'activity add', flags: [{ name: 'project', takesValue: true }], args: [{ name: 'name' }] },
  { id: 'activity show', flags: [json], args: [{ name: 'name' }] },
  { id: 'drop', flags: [], args: [{ name: 'activity' }, { name: 'file' }] },
  { id: 'completion', flags: [], args: [{ name: 'shell', options: ['bash', 'zsh'] }] },
];

describe('what completion offers after rp', () => {
  it("offers the commands and topics, then a topic's commands, by what was typed", () => {
    expect(complete(COMMANDS, [''])).toEqual({
      kind: 'words',
      words: ['activity', 'completion', 'drop', 'kill', 'logs', 'run'],
    });
    expect(complete(COMMANDS, ['k'])).toEqual({ kind: 'words', words: ['kill'] });
    expect(complete(COMMANDS, ['activity', ''])).toEqual({ kind: 'words', words: ['add', 'show'] });
    expect(complete(COMMANDS, ['activity', 's'])).toEqual({ kind: 'words', words: ['show'] });
  });

  it("offers a command's flags not given yet", () => {
    expect(complete(COMMANDS, ['kill', '--'])).toEqual({
      kind: 'words',
      words: ['--json', '--on', '--pid'],
    });
    expect(complete(COMMANDS, ['kill', '--json', '--'])).toEqual({
      kind: 'words',
      words: ['--on', '--pid'],
    });
    expect(complete(COMMANDS, ['logs', '-f', '--f'])).toEqual({ kind: 'words', words: [] });
  });

  it('asks for job ids, activities and remotes where an argument or flag names one', () => {
    expect(complete(COMMANDS, ['kill', '12'])).toEqual({ kind: 'values', of: 'job', prefix: '12' });
    expect(complete(COMMANDS, ['kill', '--pid', ''])).toEqual({
      kind: 'values',
      of: 'job',
      prefix: '',
    });
    expect(complete(COMMANDS, ['logs', '-f', ''])).toEqual({
      kind: 'values',
      of: 'job',
      prefix: '',
    });
    expect(complete(COMMANDS, ['activity', 'show', 'wh'])).toEqual({
      kind: 'values',
      of: 'activity',
      prefix: 'wh',
    });
    expect(complete(COMMANDS, ['drop', ''])).toEqual({
      kind: 'values',
      of: 'activity',
      prefix: '',
    });
    expect(complete(COMMANDS, ['run', '--on', 'g'])).toEqual({
      kind: 'values',
      of: 'remote',
      prefix: 'g',
    });
  });

  it('counts arguments past flags and their values', () => {
    expect(complete(COMMANDS, ['drop', 'whisper', ''])).toEqual({ kind: 'files' });
    expect(complete(COMMANDS, ['kill', '--on', 'gpu1', ''])).toEqual({
      kind: 'values',
      of: 'job',
      prefix: '',
    });
    // --on=gpu1 carries its value: the next word is the job.
    expect(complete(COMMANDS, ['kill', '--on=gpu1', ''])).toEqual({
      kind: 'values',
      of: 'job',
      prefix: '',
    });
    expect(complete(COMMANDS, ['kill', '1234', ''])).toEqual({ kind: 'files' });
  });

  it("offers a flag's or argument's named values, and file names where rp knows nothing better", () => {
    expect(complete(COMMANDS, ['run', '--backend', ''])).toEqual({
      kind: 'words',
      words: ['local', 'slurm'],
    });
    expect(complete(COMMANDS, ['completion', 'z'])).toEqual({ kind: 'words', words: ['zsh'] });
    expect(complete(COMMANDS, ['run', '--gpu', ''])).toEqual({ kind: 'files' });
    expect(complete(COMMANDS, ['activity', 'add', 'x', '--project', ''])).toEqual({
      kind: 'files',
    });
    expect(complete(COMMANDS, ['nothing', 'here', ''])).toEqual({ kind: 'files' });
  });
});

describe('the values offered', () => {
  it('are those starting with what was typed, once each, sorted', () => {
    expect(matchingValues(['1250', '1234', '1234_0', '1234', '9000'], '12')).toEqual([
      '1234',
      '1234_0',
      '1250',
    ]);
  });
});
