import { describe, expect, it } from 'vitest';
import type { UserLimits } from '../../src/core/host-config.js';
import {
  deadlineOf,
  endedByTimeLimit,
  enforcementSteps,
  latestEndMs,
  overdueAction,
  parseSignalSpec,
  resolveTimeLimit,
  secondsLeft,
  timeLimitRefusal,
  timeLimitSpec,
} from '../../src/core/time-limits.js';

const NOW = new Date('2026-12-02T12:00:00.000Z');
const HOUR = 3600;

function limits(extra: Partial<UserLimits> = {}): UserLimits {
  return {
    default: { maxTimeSeconds: 24 * HOUR },
    users: { root: {}, alice: { maxTimeSeconds: 2 * HOUR } },
    ...extra,
  };
}

describe('which time limit a job gets', () => {
  it('takes the one asked for, even "unlimited"', () => {
    expect(resolveTimeLimit(90, limits(), 'bob')).toBe(90);
    expect(resolveTimeLimit('unlimited', limits(), 'bob')).toBeUndefined();
  });

  it("falls back on the host's defaultTime, capped by the user's maxTime", () => {
    const withDefault = limits({ defaultTimeSeconds: 4 * HOUR });
    expect(resolveTimeLimit(undefined, withDefault, 'bob')).toBe(4 * HOUR);
    expect(resolveTimeLimit(undefined, withDefault, 'alice')).toBe(2 * HOUR);
    expect(resolveTimeLimit(undefined, withDefault, 'root')).toBe(4 * HOUR);
  });

  it("without a defaultTime, gives the user's maxTime, else no limit", () => {
    expect(resolveTimeLimit(undefined, limits(), 'alice')).toBe(2 * HOUR);
    expect(resolveTimeLimit(undefined, limits(), 'root')).toBeUndefined();
  });

  it('refuses a limit above the cap, and no limit where there is a cap, naming the cap', () => {
    expect(timeLimitRefusal(3 * HOUR, limits(), 'alice')).toBe(
      "the job's time limit is 3h but alice may run jobs of at most 2h",
    );
    expect(timeLimitRefusal(undefined, limits(), 'bob')).toBe(
      'the job has no time limit but bob may run jobs of at most 1d',
    );
    expect(timeLimitRefusal(2 * HOUR, limits(), 'alice')).toBeUndefined();
    expect(timeLimitRefusal(undefined, limits(), 'root')).toBeUndefined();
  });
});

describe('--signal', () => {
  it.each([
    ['USR1@60', { name: 'SIGUSR1', before: 60 }],
    ['sigusr2@300', { name: 'SIGUSR2', before: 300 }],
    ['B:USR1@5', { name: 'SIGUSR1', before: 5 }],
    ['10@30', { name: 'SIGUSR1', before: 30 }],
    ['TERM', { name: 'SIGTERM', before: 60 }],
  ])('reads %s', (text, spec) => {
    expect(parseSignalSpec(text)).toEqual(spec);
  });

  it.each(['KILL', 'USR1@soon', '', 'USR1@-5', '99'])('refuses %j, naming the flag', (text) => {
    expect(() => parseSignalSpec(text)).toThrow(/--signal/);
  });

  it('needs a time limit longer than its lead time', () => {
    const usr1 = { name: 'SIGUSR1', before: 60 };
    expect(() => timeLimitSpec(undefined, usr1)).toThrow(/needs a time limit/);
    expect(() => timeLimitSpec(60, usr1)).toThrow(/before the job starts/);
    expect(timeLimitSpec(61, usr1)).toEqual({ seconds: 61, signal: usr1 });
    expect(timeLimitSpec(undefined, undefined)).toBeUndefined();
  });
});

describe('deadlines and their enforcement', () => {
  const running = { deadline: '2026-12-02T13:00:00.000Z', timeLimit: { seconds: HOUR } };

  it('counts the limit from the next whole second after the start', () => {
    expect(deadlineOf(new Date('2026-12-02T12:00:00.250Z'), 60).toISOString()).toBe(
      '2026-12-02T12:01:01.000Z',
    );
    expect(deadlineOf(NOW, 60).toISOString()).toBe('2026-12-02T12:01:00.000Z');
  });

  it('sends the warning signal, then SIGTERM at the deadline, then SIGKILL after the kill wait', () => {
    const warned = {
      ...running,
      timeLimit: { seconds: HOUR, signal: { name: 'SIGUSR1', before: 60 } },
    };
    expect(enforcementSteps(warned, 30)).toEqual([
      { at: new Date('2026-12-02T12:59:00.000Z'), signal: 'SIGUSR1' },
      { at: new Date('2026-12-02T13:00:00.000Z'), signal: 'SIGTERM' },
      { at: new Date('2026-12-02T13:00:30.000Z'), signal: 'SIGKILL' },
    ]);
    expect(enforcementSteps({}, 30)).toEqual([]);
  });

  it('tells whoever finds an orphan what to send it', () => {
    expect(overdueAction(running, new Date('2026-12-02T12:59:59.000Z'), 30)).toBe('none');
    expect(overdueAction(running, new Date('2026-12-02T13:00:00.000Z'), 30)).toBe('SIGTERM');
    expect(overdueAction(running, new Date('2026-12-02T13:00:30.000Z'), 30)).toBe('SIGKILL');
    expect(overdueAction({}, new Date('2030-01-01T00:00:00.000Z'), 30)).toBe('none');
  });

  it('calls an end at or after the deadline a timeout', () => {
    expect(endedByTimeLimit(running, new Date('2026-12-02T13:00:00.000Z'))).toBe(true);
    expect(endedByTimeLimit(running, new Date('2026-12-02T12:59:59.999Z'))).toBe(false);
    expect(endedByTimeLimit({}, new Date('2030-01-01T00:00:00.000Z'))).toBe(false);
  });

  it('says how long a running job has left', () => {
    expect(secondsLeft(running, NOW)).toBe(HOUR);
    expect(secondsLeft(running, new Date('2026-12-02T14:00:00.000Z'))).toBe(0);
    expect(secondsLeft({}, NOW)).toBeUndefined();
  });

  it('knows when a job will have given its resources back at the latest', () => {
    expect(latestEndMs(running, NOW, 30)).toBe(Date.parse('2026-12-02T13:00:30.000Z'));
    // Not started yet: counted from now.
    expect(latestEndMs({ timeLimit: { seconds: 60 } }, NOW, 30)).toBe(NOW.getTime() + 90_000);
    expect(latestEndMs({}, NOW, 30)).toBe(Infinity);
  });
});
