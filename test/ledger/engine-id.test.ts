import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError, ExitCode } from '../../src/core/errors.js';
import {
  EngineMismatchError,
  engineFilePath,
  engineMismatch,
  readEngineRecord,
  recordedEngine,
} from '../../src/ledger/engine-id.js';
import { makeTempDir } from '../support/tmp.js';

const system = { id: 'AAAA:1111', name: 'gpu1' };
const rootless = { id: 'BBBB:2222', name: 'gpu1' };
const file = '/var/lib/rp/engine.json';

describe('engineMismatch (pure)', () => {
  it('accepts the engine the ledger belongs to', () => {
    expect(engineMismatch(system, { ...system }, { file, dockerHost: undefined })).toBeUndefined();
  });

  it('refuses another engine with a config error naming both engines and the way out', () => {
    const dockerHost = 'unix:///run/user/1000/docker.sock';

    const error = engineMismatch(system, rootless, { file, dockerHost });

    expect(error).toBeInstanceOf(EngineMismatchError);
    expect(error).toBeInstanceOf(ConfigError);
    expect(error?.exitCode).toBe(ExitCode.config);
    expect(error?.message).toContain('belongs to the Docker engine AAAA:1111 (host gpu1)');
    expect(error?.message).toContain(
      `reaches the engine BBBB:2222 (host gpu1) (DOCKER_HOST=${dockerHost})`,
    );
    expect(error?.hint).toContain('set DOCKER_HOST to the engine');
    expect(error?.hint).toContain('ask the admin');
    expect(error?.hint).toContain(`deletes ${file}`);
    // A private queue on a shared host would double-book its GPUs: never suggested.
    expect(error?.hint).not.toContain('RP_HOME');
  });

  it('says when this process uses the default socket', () => {
    expect(engineMismatch(system, rootless, { file, dockerHost: undefined })?.message).toContain(
      'the default socket, DOCKER_HOST unset',
    );
  });
});

describe('the engine record (real files, real processes)', () => {
  let rpHome: string;
  let cleanup: () => Promise<void>;
  const now = new Date('2025-06-01T12:00:00.000Z');

  beforeEach(async () => {
    ({ dir: rpHome, cleanup } = await makeTempDir('rp-engine-'));
  });
  afterEach(async () => {
    await cleanup();
  });

  it('is written by the first process and never replaced by a later one', async () => {
    expect(await recordedEngine(rpHome, system, now)).toEqual(system);
    expect(await recordedEngine(rpHome, rootless, now)).toEqual(system);

    const path = engineFilePath(rpHome);
    expect(JSON.parse(await readFile(path, 'utf8'))).toEqual({
      version: 1,
      ...system,
      recordedAt: now.toISOString(),
    });
    // Every rp user reads it, whatever the umask of the first one.
    expect((await stat(path)).mode & 0o777).toBe(0o644);
  });

  it("keeps only the record's fields when handed all an engine says, its version among them", async () => {
    const info = { ...system, version: '20.10.24', runtimes: ['runc'], rootDir: '/var/lib/docker' };
    expect(await recordedEngine(rpHome, info, now)).toEqual(system);
    expect(await recordedEngine(rpHome, rootless, now)).toEqual(system);
    expect(JSON.parse(await readFile(engineFilePath(rpHome), 'utf8'))).toEqual({
      version: 1,
      ...system,
      recordedAt: now.toISOString(),
    });
  });

  it('refuses a file it did not write, saying how to reset it', async () => {
    await mkdir(dirname(engineFilePath(rpHome)), { recursive: true });
    await writeFile(engineFilePath(rpHome), '{"id": 42}');

    await expect(readEngineRecord(engineFilePath(rpHome))).rejects.toThrow(ConfigError);
    await expect(recordedEngine(rpHome, system, now)).rejects.toThrow(/not an engine record/);
  });

  it('has exactly one winner when processes on different engines race to record', async () => {
    // Given four rp processes, each reaching a different engine, starting at once
    const module = fileURLToPath(new URL('../../src/ledger/engine-id.ts', import.meta.url));
    const script =
      `const { recordedEngine } = await import(${JSON.stringify(module)});` +
      `const engine = { id: process.argv[1], name: 'racer' };` +
      `process.stdout.write(JSON.stringify(await recordedEngine(${JSON.stringify(rpHome)}, engine, new Date())));`;
    const racers = Array.from({ length: 4 }, (_, index) => {
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', '--input-type=module', '-e', script, `engine-${index}`],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      );
      let out = '';
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
      return once(child, 'exit').then(([code]) => {
        expect(code).toBe(0);
        return JSON.parse(out) as { id: string };
      });
    });

    // When they all have an answer
    const answers = await Promise.all(racers);

    // Then they all got the same engine, the one in the file
    const recorded = await readEngineRecord(engineFilePath(rpHome));
    expect(recorded?.id).toMatch(/^engine-\d$/);
    expect(answers.map((answer) => answer.id)).toEqual(Array(4).fill(recorded?.id));
  });
});
