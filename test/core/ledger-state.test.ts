import { describe, expect, it } from 'vitest';
import { jobLabel, listedProject } from '../../src/core/ledger-state.js';

describe('how listings name a job', () => {
  it('lists an activity job under its activity, any other under its project', () => {
    expect(
      listedProject({ project: { name: 'whisper-proj' }, activity: { name: 'whisper' } }),
    ).toBe('activity:whisper');
    expect(listedProject({ project: { name: 'mnist' } })).toBe('mnist');
  });

  it('labels a plain job by its id and a task of an array by id_task', () => {
    expect(jobLabel({ id: '1234' })).toBe('1234');
    expect(jobLabel({ id: '1234', array: { task: 7 } })).toBe('1234_7');
  });
});
