import { describe, expect, it } from 'vitest';
import { quoteArgument, renderUnits } from '../../src/core/activity-units.js';

const units = renderUnits({
  rpHome: '/var/lib/rp',
  rp: ['/usr/bin/node', '/opt/rp lab/bin/run.js'],
  dropDirs: ['/var/lib/rp/drop/whisper', '/var/srvrs/100%'],
  historyDir: '/var/lib/rp/queue/history',
});

describe('the systemd units that serve the drop folders', () => {
  it('start a oneshot drain as rp, with RP_HOME, quoted, that leaves the supervisor it starts running', () => {
    const service = units['rp-activities.service'] ?? '';
    expect(service).toContain('Type=oneshot');
    expect(service).toContain('KillMode=process');
    expect(service).toContain('Environment=RP_HOME=/var/lib/rp');
    expect(service).toContain('ExecStart=/usr/bin/node "/opt/rp lab/bin/run.js" activity drain');
  });

  it('watch every drop folder for a file and the history for an ended job', () => {
    const path = units['rp-activities.path'] ?? '';
    expect(path.split('\n').filter((line) => line.startsWith('DirectoryNotEmpty='))).toEqual([
      'DirectoryNotEmpty=/var/lib/rp/drop/whisper',
      'DirectoryNotEmpty=/var/srvrs/100%%',
    ]);
    expect(path).toContain('PathChanged=/var/lib/rp/queue/history');
    expect(path).toContain('Unit=rp-activities.service');
    expect(path).toContain('WantedBy=paths.target');
  });

  it('have a timer that drains every minute as a fallback', () => {
    const timer = units['rp-activities.timer'] ?? '';
    expect(timer).toContain('OnUnitInactiveSec=1min');
    expect(timer).toContain('Unit=rp-activities.service');
  });

  it('quote what systemd would split or expand', () => {
    expect(quoteArgument('plain')).toBe('plain');
    expect(quoteArgument('a b')).toBe('"a b"');
    expect(quoteArgument('say "hi"')).toBe('"say \\"hi\\""');
    expect(quoteArgument('50%')).toBe('50%%');
  });
});
