import { describe, expect, it } from 'vitest';
import { describeBackend } from '../../src/core/backend-config.js';
import { exitCodeOfEnding, describePhase } from '../../src/core/backend-endings.js';
import { parseHostConfig } from '../../src/core/host-config.js';

const parse = (backend: unknown) =>
  parseHostConfig(JSON.stringify({ backend }), '/var/lib/rp/config.json');

describe('backend in the host config', () => {
  it('Given a Slurm backend, When the config is read, Then its fields are kept', () => {
    const config = parse({
      type: 'slurm',
      partition: 'gpu',
      ssh: 'login1',
      sharedDir: '/shared/rp',
    });
    expect(config.backend).toEqual({
      type: 'slurm',
      partition: 'gpu',
      ssh: 'login1',
      sharedDir: '/shared/rp',
    });
  });

  it('Given a Slurm backend without sharedDir or with a misspelt field, When read, Then the error names the field', () => {
    expect(() => parse({ type: 'slurm' })).toThrow(/backend\.sharedDir/);
    expect(() => parse({ type: 'slurm', sharedDir: '/s', partiton: 'gpu' })).toThrow(/partiton/);
    expect(() => parse({ type: 'slurm', sharedDir: 'relative' })).toThrow(/absolute path/);
    expect(() => parse({ type: 'pbs' })).toThrow(/backend/);
  });

  it('Given each backend, When described, Then rp host show says which and how it is reached', () => {
    expect(describeBackend(undefined)[0]).toMatch(/^backend: local/);
    const lines = describeBackend({
      type: 'slurm',
      ssh: 'login1',
      partition: 'gpu',
      sharedDir: '/s',
    });
    expect(lines[0]).toBe('backend: slurm, through ssh login1');
    expect(lines[1]).toContain('partition gpu');
  });
});

describe("a backend job's ending", () => {
  it('Given each ending, When rp run exits, Then its code is the script’s, or what the ending means', () => {
    expect(exitCodeOfEnding('completed', 0)).toBe(0);
    expect(exitCodeOfEnding('failed', 3)).toBe(3);
    expect(exitCodeOfEnding('failed', undefined)).toBe(1);
    expect(exitCodeOfEnding('timeout', 143)).toBe(124);
    expect(exitCodeOfEnding('cancelled', undefined)).toBe(143);
    expect(exitCodeOfEnding('out-of-memory', 0)).toBe(137);
  });

  it('Given states, When described, Then a queued one says why it waits', () => {
    expect(describePhase({ phase: 'queued', reason: 'Resources' })).toBe(
      'queued (waiting for resources)',
    );
    expect(describePhase({ phase: 'failed', exitCode: 2 })).toBe('failed (exit 2)');
  });
});
