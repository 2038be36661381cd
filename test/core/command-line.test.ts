import { describe, expect, it } from 'vitest';
import { splitCommandLine } from '../../src/core/command-line.js';
import { UsageError } from '../../src/core/errors.js';

describe('splitCommandLine', () => {
  it.each([
    ['train.sh --lr 3e-4', ['train.sh', '--lr', '3e-4']],
    ['  a   b  ', ['a', 'b']],
    [`a "b c" 'd e'`, ['a', 'b c', 'd e']],
    [`a "say \\"hi\\"" 'it''s'`, ['a', 'say "hi"', 'its']],
    ['a b\\ c', ['a', 'b c']],
    [`a ""`, ['a', '']],
    [`x --name="run 1"`, ['x', '--name=run 1']],
  ])('%s', (text, argv) => {
    expect(splitCommandLine(text)).toEqual(argv);
  });

  it('expands nothing: no variables, globs or substitutions', () => {
    expect(splitCommandLine('a $HOME * $(rm -rf /) `id` ; && |')).toEqual([
      'a',
      '$HOME',
      '*',
      '$(rm',
      '-rf',
      '/)',
      '`id`',
      ';',
      '&&',
      '|',
    ]);
  });

  it('refuses an unterminated quote with a usage error', () => {
    expect(() => splitCommandLine('a "b')).toThrow(UsageError);
    expect(() => splitCommandLine("a 'b")).toThrow(/single quote/);
  });

  it('gives an empty vector for an empty line', () => {
    expect(splitCommandLine('   ')).toEqual([]);
  });
});
