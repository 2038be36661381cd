import { describe, expect, it } from 'vitest';
import { ConfigError, UsageError } from '../../src/core/errors.js';
import {
  addRemote,
  EMPTY_REMOTES,
  findRemote,
  listRemotes,
  parseProjectRemote,
  parseRemotesFile,
  removeRemote,
} from '../../src/core/remotes.js';

describe('remotes', () => {
  it('Given no remotes, When one is added with defaults, Then it lists with ~/rp-remote and no port', () => {
    const file = addRemote(EMPTY_REMOTES, { name: 'gpu1', target: 'me@gpu1.lab.example' }, false);
    expect(listRemotes(file)).toEqual([
      { name: 'gpu1', target: 'me@gpu1.lab.example', path: '~/rp-remote', port: null, rp: 'rp' },
    ]);
    expect(findRemote(file, 'gpu1', 'remotes.json')).toEqual({
      target: 'me@gpu1.lab.example',
      path: '~/rp-remote',
    });
  });

  it('keeps the port, the path (without a trailing slash) and how rp runs there', () => {
    const file = addRemote(
      EMPTY_REMOTES,
      {
        name: 'b',
        target: 'gpu-alias',
        path: '/scratch/me/',
        port: 2222,
        rp: '/opt/rp/bin/run.js',
      },
      false,
    );
    expect(file.remotes.b).toEqual({
      target: 'gpu-alias',
      path: '/scratch/me',
      port: 2222,
      rp: '/opt/rp/bin/run.js',
    });
  });

  it('refuses a name already there unless replacing', () => {
    const file = addRemote(EMPTY_REMOTES, { name: 'gpu1', target: 'a' }, false);
    expect(() => addRemote(file, { name: 'gpu1', target: 'b' }, false)).toThrow(ConfigError);
    expect(addRemote(file, { name: 'gpu1', target: 'b' }, true).remotes.gpu1?.target).toBe('b');
  });

  it.each([
    ['-oProxyCommand=evil', 'an ssh option in disguise'],
    ['me@host; rm -rf ~', 'shell characters'],
    ['me@', 'no host'],
  ])('refuses the target %s (%s) with a usage error', (target) => {
    expect(() => addRemote(EMPTY_REMOTES, { name: 'x', target }, false)).toThrow(UsageError);
  });

  it('refuses bad names and paths, naming them', () => {
    expect(() => addRemote(EMPTY_REMOTES, { name: 'GPU 1', target: 'h' }, false)).toThrow(
      /"GPU 1" is not a remote name/,
    );
    expect(() =>
      addRemote(EMPTY_REMOTES, { name: 'a', target: 'h', path: 'relative/dir' }, false),
    ).toThrow(/--path relative\/dir/);
  });

  it('an unknown remote is an error listing the known ones', () => {
    const file = addRemote(EMPTY_REMOTES, { name: 'gpu1', target: 'a' }, false);
    expect(() => findRemote(file, 'gpu2', 'remotes.json')).toThrow(/no remote named gpu2/);
    expect(() => removeRemote(file, 'gpu2', 'remotes.json')).toThrow(ConfigError);
    expect(removeRemote(file, 'gpu1', 'remotes.json')).toEqual(EMPTY_REMOTES);
  });

  it('reads the remotes file, naming the file and the bad field', () => {
    expect(
      parseRemotesFile('{"version":1,"remotes":{"g":{"target":"h","path":"~/x"}}}', 'f.json'),
    ).toEqual({ version: 1, remotes: { g: { target: 'h', path: '~/x' } } });
    expect(() =>
      parseRemotesFile(
        '{"version":1,"remotes":{"g":{"target":"h","path":"~/x","prot":1}}}',
        'f.json',
      ),
    ).toThrow(/f\.json is invalid:[\s\S]*remotes\.g: unknown field "prot"/);
  });

  it("reads a project's .rp/remote.json", () => {
    expect(parseProjectRemote('{"remote":"gpu1"}', '.rp/remote.json')).toBe('gpu1');
    expect(() => parseProjectRemote('{"remote":1}', '.rp/remote.json')).toThrow(ConfigError);
  });
});
