import { describe, expect, it } from 'vitest';
import {
  expandGrid,
  gridTask,
  MAX_TASKS,
  parseArraySpec,
  parseSweepParameter,
  substitutePlaceholders,
  sweepEnvironment,
} from '../../src/core/array-spec.js';
import { UsageError } from '../../src/core/errors.js';

function usageError(run: () => unknown): UsageError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    return error as UsageError;
  }
  throw new Error('expected a UsageError');
}

describe('parseArraySpec (Slurm array syntax)', () => {
  it.each([
    ['0-3', [0, 1, 2, 3], undefined],
    ['1,3,5', [1, 3, 5], undefined],
    ['0-100:25', [0, 25, 50, 75, 100], undefined],
    ['0-9%4', [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], 4],
    ['7', [7], undefined],
    ['0,6,16-18', [0, 6, 16, 17, 18], undefined],
    ['2,1-3', [2, 1, 3], undefined],
  ])('reads %s', (text, indices, maxRunning) => {
    expect(parseArraySpec(text)).toEqual(
      maxRunning === undefined ? { indices } : { indices, maxRunning },
    );
  });

  it.each([
    ['', 'an empty entry'],
    ['1,,2', 'an empty entry'],
    ['5-2', 'ends before it starts'],
    ['0-9:0', 'step of 0-9:0 must be 1 or more'],
    ['a-b', '"a-b" is not an index or a range'],
    ['0-9%0', '"%0" is not a number of tasks'],
    ['0-9%2%3', 'more than one "%"'],
    [`0-${MAX_TASKS}`, `more than ${MAX_TASKS} tasks`],
  ])('refuses %j, saying why and how to write it', (text, why) => {
    const error = usageError(() => parseArraySpec(text));
    expect(error.message.startsWith(`--array ${text}: `)).toBe(true);
    expect(error.message).toContain(why);
    expect(error.hint).toContain('--array 0-99%4');
  });
});

describe('parseSweepParameter and expandGrid', () => {
  it('reads a list and an inclusive whole-number range', () => {
    expect(parseSweepParameter('lr=1e-3,3e-4,1e-4')).toEqual({
      name: 'lr',
      values: ['1e-3', '3e-4', '1e-4'],
    });
    expect(parseSweepParameter('seed=1..3')).toEqual({ name: 'seed', values: ['1', '2', '3'] });
  });

  it.each([
    ['lr', 'expected NAME=VALUES'],
    ['1x=1', 'is not a name'],
    ['i=1,2', 'array task index'],
    ['lr=1,,2', 'an empty value'],
    ['lr=1,1', 'listed twice'],
    ['seed=3..1', 'ends before it starts'],
  ])('refuses %j', (text, why) => {
    const error = usageError(() => parseSweepParameter(text));
    expect(error.message).toContain(`--sweep ${text}: `);
    expect(error.message).toContain(why);
  });

  it('makes the cartesian product, the first parameter varying slowest', () => {
    const grid = expandGrid([parseSweepParameter('lr=a,b,c'), parseSweepParameter('seed=1..3')]);
    expect(grid).toHaveLength(9);
    expect(grid.slice(0, 4)).toEqual([
      { lr: 'a', seed: '1' },
      { lr: 'a', seed: '2' },
      { lr: 'a', seed: '3' },
      { lr: 'b', seed: '1' },
    ]);
  });

  it('refuses a parameter given twice, and a grid over the task limit', () => {
    expect(
      usageError(() => expandGrid([parseSweepParameter('x=1'), parseSweepParameter('x=2')]))
        .message,
    ).toContain('given twice');
    const big = [parseSweepParameter('a=1..100'), parseSweepParameter('b=1..101')];
    expect(usageError(() => expandGrid(big)).message).toContain('10100 tasks');
  });
});

describe('substitutePlaceholders', () => {
  it('fills every placeholder, and keeps doubled braces literal', () => {
    expect(
      substitutePlaceholders('train.sh --lr {lr} --seed {seed} --tag {{x}} --i {i}', {
        lr: '3e-4',
        seed: '2',
        i: '7',
      }),
    ).toBe('train.sh --lr 3e-4 --seed 2 --tag {x} --i 7');
  });

  it('refuses a placeholder without a value, naming the ones there are', () => {
    const error = usageError(() => substitutePlaceholders('train.sh --lr {lrr}', { lr: '1' }));
    expect(error.message).toBe('--script: no value for {lrr}');
    expect(error.hint).toContain('{lr}');
  });

  it('names the environment of a grid task', () => {
    expect(sweepEnvironment({ lr: '3e-4', seed: '1' })).toEqual({
      RP_SWEEP_LR: '3e-4',
      RP_SWEEP_SEED: '1',
    });
  });
});

describe('gridTask', () => {
  it('is expandGrid(parameters)[index] for every index, without building the grid', () => {
    const parameters = [
      { name: 'a', values: ['1', '2', '3'] },
      { name: 'b', values: ['x'] },
      { name: 'c', values: ['p', 'q'] },
    ];
    const grid = expandGrid(parameters);
    grid.forEach((values, index) => expect(gridTask(parameters, index)).toEqual(values));
  });
});
