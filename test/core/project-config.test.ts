import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/core/errors.js';
import {
  checkMountNames,
  mountBaseName,
  parseProjectInfo,
  parseProjectPaths,
} from '../../src/core/project-config.js';

const valid = {
  cpu: 4,
  gpus: 1,
  memory: 16,
  docker_shm: '4g',
  name: 'mnist',
  tag: 'rp/alice-mnist',
  username: 'alice',
  rp_version: '0.1.0',
  stdout_to_file: false,
};

function infoError(data: unknown): ConfigError {
  try {
    parseProjectInfo(JSON.stringify(data));
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('parseProjectInfo', () => {
  it('accepts a valid file', () => {
    expect(parseProjectInfo(JSON.stringify(valid))).toEqual(valid);
  });

  it('names the file and the field, and says what is allowed', () => {
    const error = infoError({ ...valid, cpu: 'four' });
    expect(error.message).toContain('.rp/info.json');
    expect(error.message).toContain('cpu');
    expect(error.message).toContain('a whole number of CPU cores, at least 1');
    expect(error.exitCode).toBe(3);
  });

  it('lists every bad field at once', () => {
    const error = infoError({ ...valid, gpus: -1, memory: 0, docker_shm: 'lots' });
    expect(error.message).toMatch(/gpus/);
    expect(error.message).toMatch(/memory/);
    expect(error.message).toMatch(/docker_shm/);
  });

  it('rejects an invalid tag such as the /rp_x the original produced', () => {
    expect(infoError({ ...valid, tag: '/rp_x' }).message).toContain('tag');
    expect(infoError({ ...valid, tag: 'rp/x:latest' }).message).toContain('without ":tag"');
  });

  it('reports unknown fields with the allowed ones (a typo must not be ignored)', () => {
    const error = infoError({ ...valid, gpu: 2 });
    expect(error.message).toContain('unknown field "gpu"');
    expect(error.message).toContain('gpus');
  });

  it('reports a missing field', () => {
    const { memory: _memory, ...rest } = valid;
    expect(infoError(rest).message).toContain('memory');
  });

  it('reports broken JSON with the file name', () => {
    expect(() => parseProjectInfo('{"cpu": 4,', '/p/.rp/info.json')).toThrow(
      /\/p\/\.rp\/info\.json is not valid JSON/,
    );
  });
});

describe('parseProjectPaths', () => {
  it('accepts absolute paths with distinct base names', () => {
    expect(parseProjectPaths('["/data/imagenet", "/scratch/alice/runs/"]')).toEqual([
      '/data/imagenet',
      '/scratch/alice/runs/',
    ]);
  });

  it('rejects relative paths, naming the file', () => {
    expect(() => parseProjectPaths('["data"]')).toThrow(/paths\.json[\s\S]*not an absolute path/);
  });

  it('rejects "/" which would hide the home folder', () => {
    expect(() => parseProjectPaths('["/"]')).toThrow(/no folder name/);
  });

  it('rejects two paths mounted under the same name, trailing slash or not', () => {
    expect(() => parseProjectPaths('["/a/data", "/b/data/"]')).toThrow(
      /both be mounted as ~\/data/,
    );
  });

  it('rejects something other than a list', () => {
    expect(() => parseProjectPaths('{"a": 1}')).toThrow(ConfigError);
  });
});

describe('checkMountNames', () => {
  function refusal(paths: string[], projectName?: string): ConfigError {
    try {
      checkMountNames(paths, { projectName });
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      return error as ConfigError;
    }
    throw new Error('expected a ConfigError');
  }

  it('accepts entries with their own names', () => {
    expect(() =>
      checkMountNames(['/data/imagenet', '/scratch/runs'], { projectName: 'mnist' }),
    ).not.toThrow();
  });

  it('refuses an entry mounted where the project is (~/<project name>), naming it and what to do', () => {
    const error = refusal(['/data/imagenet', '/data/mnist/'], 'mnist');
    expect(error.message).toContain('.rp/paths.json');
    expect(error.message).toContain('"/data/mnist/"');
    expect(error.message).toContain('~/mnist');
    expect(error.hint).toMatch(/rename the project.*symlink/);
    expect(error.exitCode).toBe(3);
  });

  it('refuses ":" anywhere in an entry, which Docker would read as SOURCE:TARGET', () => {
    const error = refusal(['/data/run:1/images'], 'mnist');
    expect(error.message).toContain('"/data/run:1/images"');
    expect(error.message).toContain('":"');
    expect(error.hint).toMatch(/rename the folder/);
  });

  it('refuses two entries with one base name, naming both', () => {
    const error = refusal(['/a/data', '/b/data/'], 'mnist');
    expect(error.message).toContain('"/a/data" and "/b/data/"');
    expect(error.hint).toMatch(/different folder name/);
  });

  it('refuses ":" already when paths.json is read', () => {
    expect(() => parseProjectPaths('["/data/a:b"]')).toThrow(/":"/);
  });
});

describe('mountBaseName', () => {
  it.each([
    ['/data/imagenet', 'imagenet'],
    ['/data/imagenet/', 'imagenet'],
    ['/data/imagenet/.', 'imagenet'],
    ['/', ''],
    ['/data/..', ''],
  ])('%j -> %j', (path, base) => {
    expect(mountBaseName(path)).toBe(base);
  });
});
