import { describe, expect, it } from 'vitest';
import {
  defaultImageRepository,
  imageUserName,
  isValidProjectName,
  isValidRepository,
  jobContainerName,
  jobName,
  projectNameFromFolder,
} from '../../src/core/naming.js';

describe('projectNameFromFolder', () => {
  it.each([
    ['my-project', 'my-project'],
    ['My Project', 'my-project'],
    ['Deep_Learning.v2', 'deep-learning-v2'],
    ['--weird--', 'weird'],
    ['ÜberModel', 'bermodel'],
    ['!!!', 'project'],
    ['', 'project'],
  ])('%j -> %j', (folder, expected) => {
    const name = projectNameFromFolder(folder);
    expect(name).toBe(expected);
    expect(isValidProjectName(name)).toBe(true);
  });

  it('caps long names and never ends on a separator', () => {
    const name = projectNameFromFolder(`${'a'.repeat(63)}-bbbb`);
    expect(name).toBe('a'.repeat(63));
    expect(isValidProjectName(name)).toBe(true);
  });
});

describe('defaultImageRepository', () => {
  it('is rp/<user>-<name>', () => {
    expect(defaultImageRepository('alice', 'mnist')).toBe('rp/alice-mnist');
  });

  it('never produces an invalid tag for an unusable user name (the original made /rp_x)', () => {
    for (const user of ['', '???', 'Ünï', 'A.B', '1234']) {
      const repository = defaultImageRepository(user, 'x');
      expect(isValidRepository(repository), `${user} -> ${repository}`).toBe(true);
      expect(repository.startsWith('rp/')).toBe(true);
    }
    expect(defaultImageRepository('???', 'x')).toBe('rp/user-x');
  });
});

describe('isValidRepository', () => {
  it.each(['rp/alice-x', 'ubuntu', 'registry.example.com:5000/team/img', 'a__b', 'a.b-c'])(
    'accepts %s',
    (r) => {
      expect(isValidRepository(r)).toBe(true);
    },
  );
  it.each(['', '/rp_x', 'Rp/x', 'rp/x:latest', 'rp//x', 'rp/-x', 'rp/x-', 'a...b'])(
    'rejects %j',
    (r) => {
      expect(isValidRepository(r)).toBe(false);
    },
  );
});

describe('imageUserName', () => {
  it('keeps valid Linux user names', () => {
    expect(imageUserName('alice')).toBe('alice');
    expect(imageUserName('_svc-1')).toBe('_svc-1');
  });
  it('normalises names useradd would refuse', () => {
    expect(imageUserName('Alice.Smith')).toBe('alice_smith');
    expect(imageUserName('1user')).toBe('_1user');
    expect(imageUserName('x'.repeat(40))).toHaveLength(32);
  });
});

describe('jobContainerName', () => {
  it('differs for two jobs with the same reused id, so a leftover container never blocks a new one', () => {
    const first = jobContainerName({ id: '1234', seq: 7 }, 'a1b2c3');
    const second = jobContainerName({ id: '1234', seq: 8 }, 'a1b2c3');
    expect(first).toBe('rp1234-7-a1b2c3');
    expect(second).not.toBe(first);
    expect(jobContainerName({ id: '1234', seq: 7 }, 'ffffff')).not.toBe(first);
  });

  it('starts with the name listings show, and is always a valid Docker container name', () => {
    const name = jobContainerName({ id: '0042', seq: 1 }, 'x/y z');
    expect(name.startsWith(`${jobName('0042')}-`)).toBe(true);
    expect(name).toMatch(/^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/);
    expect(jobContainerName({ id: '0042', seq: 1 }, '')).toBe('rp0042-1');
  });
});
