import { describe, expect, it } from 'vitest';
import {
  bareOnAsDefault,
  compareVersions,
  largestFiles,
  parseDryRun,
  parseRpVersion,
  parseUploadLimit,
  preflightCommand,
  pullArgs,
  remotePathWords,
  remoteRpCommand,
  rsyncShell,
  serverArgs,
  shellQuote,
  sshOptions,
  syncArgs,
  syncFilterRules,
} from '../../src/core/remote-command.js';

const SSH = { controlPath: '/run/user/1000/rp-ssh/%C', persistSeconds: 120 };

describe('the text the server runs', () => {
  it('quotes every word, so a script with spaces, quotes and ; stays one argument', () => {
    expect(shellQuote('train.sh')).toBe('train.sh');
    expect(shellQuote('--script=train.sh --lr 3e-4; rm -rf ~')).toBe(
      `'--script=train.sh --lr 3e-4; rm -rf ~'`,
    );
    expect(shellQuote(`it's`)).toBe(`'it'\\''s'`);
    expect(shellQuote('')).toBe(`''`);
  });

  it('leaves a leading ~ for the server to expand, and quotes the rest of the path', () => {
    expect(remotePathWords('~/rp-remote/my proj')).toBe(`~/'rp-remote/my proj'`);
    expect(remotePathWords('~')).toBe('~');
    expect(remotePathWords('~bob/x')).toBe('~bob/x');
    expect(remotePathWords('/scratch/a b')).toBe(`'/scratch/a b'`);
  });

  it('runs rp in the project folder with exec, so its exit code and signals are its own', () => {
    expect(remoteRpCommand({}, ['run', '--script=a b'], { dir: '~/rp-remote/p' })).toBe(
      `cd ~/rp-remote/p && exec rp run '--script=a b'`,
    );
    expect(remoteRpCommand({ rp: '/opt/rp/bin/run.js' }, ['ps'])).toBe(
      'exec /opt/rp/bin/run.js ps',
    );
    expect(preflightCommand({}, '~/rp-remote/p')).toBe('mkdir -p ~/rp-remote/p && rp --version');
  });
});

describe('ssh and rsync arguments', () => {
  it('share one connection: the master with ControlMaster=auto and ControlPersist, others reuse it', () => {
    const master = sshOptions({ port: 2222 }, SSH, true);
    expect(master).toEqual([
      '-p',
      '2222',
      '-o',
      'ControlPath=/run/user/1000/rp-ssh/%C',
      '-o',
      'ControlMaster=auto',
      '-o',
      'ControlPersist=120',
      '-o',
      'ServerAliveInterval=5',
      '-o',
      'ServerAliveCountMax=3',
    ]);
    expect(sshOptions({}, SSH, false)).toContain('ControlMaster=no');
    expect(sshOptions({}, SSH, false)).not.toContain('-p');
  });

  it("gives rsync an -e it can split, quoting a config file's path with spaces", () => {
    expect(rsyncShell({}, { ...SSH, configFile: '/home/me/my ssh/config' })).toBe(
      `ssh -F '/home/me/my ssh/config' -o ControlPath=/run/user/1000/rp-ssh/%C -o ControlMaster=no -o ControlPersist=120 -o ServerAliveInterval=5 -o ServerAliveCountMax=3`,
    );
  });

  it('never sends .git, output/, .cache/ or .rp/logs/, and reads .gitignore and .rpignore', () => {
    expect(syncFilterRules(false)).toEqual([
      '- /.git/',
      '- /output/',
      '- /.cache/',
      '- /.rp/logs/',
      ':- .gitignore',
      ':- .rpignore',
    ]);
  });

  it('with --sync-output sends the result folders before .gitignore can exclude them, and protects them there', () => {
    const rules = syncFilterRules(true);
    expect(rules.slice(1, 3)).toEqual(['+s /output/***', 'P /output/***']);
    expect(rules.indexOf('+s /output/***')).toBeLessThan(rules.indexOf(':- .gitignore'));
  });

  it('syncs with -az --delete, and a dry run lists sizes', () => {
    const args = syncArgs({
      localDir: '/home/me/proj/',
      remoteDir: 'gpu1:~/rp-remote/proj/',
      shell: 'ssh',
      syncOutput: false,
      dryRun: true,
    });
    expect(args.slice(0, 4)).toEqual(['-az', '--delete', '-e', 'ssh']);
    expect(args).toContain('--dry-run');
    expect(args).toContain('--out-format=%i %l %n');
    expect(args.slice(-2)).toEqual(['/home/me/proj/', 'gpu1:~/rp-remote/proj/']);
  });

  it('pulls output/ without --delete, keeping the paths relative to the project', () => {
    const args = pullArgs({
      localDir: '/home/me/proj',
      remoteDir: 'gpu1:~/rp-remote/proj/',
      shell: 'ssh',
      files: ['output/'],
    });
    expect(args).not.toContain('--delete');
    expect(args.slice(-2)).toEqual(['gpu1:~/rp-remote/proj/./output/', '/home/me/proj/']);
  });
});

describe('the upload check', () => {
  const dryRun = [
    'created directory /home/me/rp-remote/proj',
    'cd+++++++++ 4096 ./',
    '<f+++++++++ 26 .gitignore',
    '<f.st...... 3221225472 data/train.bin',
    '<f+++++++++ 2048 src/model.py',
    '*deleting   old.txt',
    'cL+++++++++ 9 link -> target',
  ].join('\n');

  it('counts the regular files a dry run would send, largest first', () => {
    const plan = parseDryRun(dryRun);
    expect(plan.bytes).toBe(26 + 3221225472 + 2048);
    expect(plan.files.map((file) => file.name)).toEqual([
      'data/train.bin',
      'src/model.py',
      '.gitignore',
    ]);
    expect(largestFiles(plan, 2)).toEqual([
      '    3.0 GiB  data/train.bin',
      '    2.0 KiB  src/model.py',
    ]);
  });

  it('reads --max-upload sizes as people write them', () => {
    expect(parseUploadLimit('1g')).toBe(1024 ** 3);
    expect(parseUploadLimit('500M')).toBe(500 * 1024 ** 2);
    expect(parseUploadLimit('2GiB')).toBe(2 * 1024 ** 3);
    expect(parseUploadLimit('1234')).toBe(1234);
    expect(parseUploadLimit('lots')).toBeUndefined();
  });
});

describe('rp versions', () => {
  it("reads oclif's --version line and compares versions", () => {
    expect(parseRpVersion('rp/0.1.0 linux-x64 node-v20.20.2\n')).toBe('0.1.0');
    expect(parseRpVersion('bash: rp: command not found')).toBeUndefined();
    expect(compareVersions('0.1.0', '0.1.0')).toBe(0);
    expect(compareVersions('0.9.9', '0.10.0')).toBeLessThan(0);
    expect(compareVersions('1.0.0', '0.10.0')).toBeGreaterThan(0);
  });
});

describe('argv for the server', () => {
  it('takes out --on, --max-upload and --sync-output, in every spelling, and keeps the rest as typed', () => {
    expect(
      serverArgs([
        '--on',
        'gpu1',
        '--script=train.sh --lr 1',
        '--max-upload=2g',
        '--sync-output',
        '--gpu',
        '1',
        '--max-upload',
        '5g',
        '--on=gpu2',
      ]),
    ).toEqual(['--script=train.sh --lr 1', '--gpu', '1']);
  });

  it('leaves everything after -- alone', () => {
    expect(serverArgs(['--on=g', '--', '--on', 'x'])).toEqual(['--', '--on', 'x']);
  });

  it('reads a bare --on as the project default', () => {
    expect(bareOnAsDefault(['--on', '--script=x'])).toEqual(['--on=', '--script=x']);
    expect(bareOnAsDefault(['ps', '--on'])).toEqual(['ps', '--on=']);
    expect(bareOnAsDefault(['--on', 'gpu1'])).toEqual(['--on', 'gpu1']);
  });
});
