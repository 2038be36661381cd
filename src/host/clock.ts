/**
 * Time is passed in (house style, habit 5): everything that stamps or compares times takes a Clock,
 * so tests use a manual clock instead of sleeping.
 */

export interface Clock {
  now(): Date;
}

/** The machine's wall clock. */
export const systemClock: Clock = {
  now: () => new Date(),
};

/** A clock that moves only when told to; for tests and reproducible runs. */
export interface ManualClock extends Clock {
  set(at: Date | string): void;
  advance(ms: number): void;
}

export function manualClock(start: Date | string = '2025-01-01T00:00:00.000Z'): ManualClock {
  let current = new Date(start).getTime();
  return {
    // A fresh Date each time, so a caller that mutates the result cannot move the clock.
    now: () => new Date(current),
    set: (at) => {
      current = new Date(at).getTime();
    },
    advance: (ms) => {
      current += ms;
    },
  };
}
