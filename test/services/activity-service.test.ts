import { execa } from 'execa';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { installUnits } from '../../src/services/activity-service.js';
import { makeTempDir } from '../support/tmp.js';

const systemdAnalyze = await execa('systemd-analyze', ['--version'], { reject: false }).then(
  (result) => result.exitCode === 0,
  () => false,
);

describe('rp activity install-service', () => {
  let temp: { dir: string; cleanup: () => Promise<void> };
  beforeEach(async () => {
    temp = await makeTempDir('rp-units-');
  });
  afterEach(() => temp.cleanup());

  it('refuses anyone but root', async () => {
    await expect(
      installUnits({ rpHome: temp.dir, unitDir: temp.dir, caller: { uid: 1000 } }),
    ).rejects.toThrow('needs root');
  });

  it('writes the three units, naming the host and rp itself', async () => {
    const installed = await installUnits({
      rpHome: join(temp.dir, 'home'),
      unitDir: temp.dir,
      caller: { uid: 0 },
    });
    expect(installed.files.map((file) => file.slice(temp.dir.length + 1)).sort()).toEqual([
      'rp-activities.path',
      'rp-activities.service',
      'rp-activities.timer',
    ]);
    const service = await readFile(join(temp.dir, 'rp-activities.service'), 'utf8');
    expect(service).toContain(`ExecStart=${process.execPath} `);
    expect(service).toMatch(/bin\/run\.js activity drain\n/);
    expect(service).toContain(`Environment=RP_HOME=${join(temp.dir, 'home')}`);
  });

  it.skipIf(!systemdAnalyze)(
    'writes units that systemd-analyze verify accepts without a word',
    async () => {
      await installUnits({ rpHome: join(temp.dir, 'home'), unitDir: temp.dir, caller: { uid: 0 } });
      const units = ['rp-activities.service', 'rp-activities.path', 'rp-activities.timer'];
      const verify = await execa(
        'systemd-analyze',
        ['verify', ...units.map((unit) => `./${unit}`)],
        {
          cwd: temp.dir,
          reject: false,
        },
      );
      expect(verify.exitCode, verify.stderr).toBe(0);
      expect(verify.stderr).toBe('');
    },
  );
});
