import { describe, expect, it } from 'vitest';
import {
  acceptsName,
  activitySchema,
  claimedFileName,
  decideDropEntry,
  isIgnoredName,
  outputFolderName,
  parseAcceptList,
  type DropContext,
  type DropEntry,
} from '../../src/core/activities.js';

const NOW = new Date('2026-12-02T12:00:00.000Z');

function entry(overrides: Partial<DropEntry> = {}): DropEntry {
  return {
    name: 'talk.wav',
    type: 'file',
    size: 1000,
    links: 1,
    uid: 1001,
    changedMs: NOW.getTime() - 60_000,
    ...overrides,
  };
}

function context(overrides: Partial<DropContext> = {}): DropContext {
  return {
    activity: { accept: ['*.wav', '*.mp3'], maxSizeBytes: 2000, stableSeconds: 5 },
    now: NOW,
    markedDone: false,
    ownerAllowed: true,
    ...overrides,
  };
}

describe('what becomes of a file in a drop folder', () => {
  it('claims a complete file: unchanged for stableSeconds', () => {
    expect(decideDropEntry(entry({ changedMs: NOW.getTime() - 5_000 }), context())).toEqual({
      action: 'claim',
    });
  });

  it('waits for a file changed less than stableSeconds ago (still being written)', () => {
    expect(decideDropEntry(entry({ changedMs: NOW.getTime() - 4_999 }), context())).toEqual({
      action: 'wait',
    });
  });

  it('claims a file at once when NAME.done is beside it', () => {
    const fresh = entry({ changedMs: NOW.getTime() });
    expect(decideDropEntry(fresh, context({ markedDone: true }))).toEqual({ action: 'claim' });
  });

  it('leaves dot-files, temporary names and .done markers alone', () => {
    for (const name of [
      '.talk.wav.XyZ12',
      'talk.wav.part',
      'a.tmp',
      'b.filepart',
      'talk.wav.done',
    ]) {
      expect(isIgnoredName(name), name).toBe(true);
      expect(decideDropEntry(entry({ name }), context()), name).toEqual({ action: 'ignore' });
    }
  });

  it('waits for a hard-linked file that changed lately: an upload linking its final name first', () => {
    const linked = entry({ links: 2, changedMs: NOW.getTime() - 4_999 });
    expect(decideDropEntry(linked, context())).toEqual({ action: 'wait' });
    expect(decideDropEntry(linked, context({ markedDone: true }))).toEqual({ action: 'wait' });
    // Quiet for stableSeconds and still linked: refused.
    const kept = entry({ links: 2, changedMs: NOW.getTime() - 5_000 });
    expect(decideDropEntry(kept, context())).toMatchObject({ action: 'reject' });
  });

  it('refuses a link, a folder, a device and a hard-linked file, saying why', () => {
    const reasons = [
      entry({ type: 'symlink' }),
      entry({ type: 'directory' }),
      entry({ type: 'other' }),
      entry({ links: 2 }),
    ].map((dropped) => decideDropEntry(dropped, context()));
    expect(reasons).toEqual([
      { action: 'reject', reason: 'it is a symbolic link; copy the file itself' },
      { action: 'reject', reason: 'it is a folder, not a regular file' },
      { action: 'reject', reason: 'it is a device, pipe or socket, not a regular file' },
      { action: 'reject', reason: 'it has 2 hard links; copy the file rather than linking it' },
    ]);
  });

  it('refuses a name not accepted, a file over the size limit and a user not allowed', () => {
    expect(decideDropEntry(entry({ name: 'notes.txt' }), context())).toEqual({
      action: 'reject',
      reason: 'its name does not match *.wav, *.mp3',
    });
    expect(decideDropEntry(entry({ size: 2001 }), context())).toEqual({
      action: 'reject',
      reason: "it is 2001 bytes, over the activity's limit of 2000",
    });
    expect(decideDropEntry(entry(), context({ ownerAllowed: false }))).toEqual({
      action: 'reject',
      reason: 'its owner (uid 1001) may not use this host',
    });
  });

  it('refuses a file too large while it is still growing, without waiting for it', () => {
    const growing = entry({ size: 5000, changedMs: NOW.getTime() });
    expect(decideDropEntry(growing, context())).toMatchObject({ action: 'reject' });
  });

  it('accepts any name when the activity gives no patterns', () => {
    const any = context({ activity: { stableSeconds: 0 } });
    expect(decideDropEntry(entry({ name: 'x.bin', size: 1e9 }), any)).toEqual({ action: 'claim' });
  });
});

describe('accepted names', () => {
  it('match the patterns case-insensitively, and never a hidden file', () => {
    expect(acceptsName(['*.wav'], 'TALK.WAV')).toBe(true);
    expect(acceptsName(['*.wav'], 'talk.wav.txt')).toBe(false);
    expect(acceptsName(['*.wav'], '.talk.wav')).toBe(false);
    expect(acceptsName(undefined, 'anything')).toBe(true);
  });

  it('are read from a comma-separated list, spaces and empty items dropped', () => {
    expect(parseAcceptList(' *.wav, *.mp3 ,,*.mov')).toEqual(['*.wav', '*.mp3', '*.mov']);
    expect(parseAcceptList(' , ')).toBeUndefined();
  });
});

describe('names made from a dropped file', () => {
  it('names the output folder <stem>-<job>, safe and never hidden', () => {
    expect(outputFolderName('talk.wav', '4821')).toBe('talk-4821');
    expect(outputFolderName('my talk (v2).tar.gz', '1000')).toBe('my_talk_v2_.tar-1000');
    expect(outputFolderName('.hidden', '1000')).toBe('_hidden-1000');
    expect(outputFolderName('README', '1000')).toBe('README-1000');
  });

  it('gives the input a name a Docker bind can hold: no ":" or ","', () => {
    expect(claimedFileName('rec 12:30, final.wav')).toBe('rec 12_30_ final.wav');
    expect(claimedFileName('.x')).toBe('_x');
  });
});

describe('the stored activity', () => {
  const stored = {
    name: 'whisper',
    project: '/srv/rp/whisper',
    script: 'transcribe.sh',
    request: { gpus: 1, cpus: 4, memoryGb: 16 },
    time: '2h',
    accept: ['*.wav'],
    maxSizeBytes: 2 * 1024 ** 3,
    keepInput: false,
    stableSeconds: 5,
    dropDir: '/var/srvrs/whisper',
    createdAt: NOW.toISOString(),
    createdBy: 'root',
  };

  it('is read back as written', () => {
    expect(activitySchema.parse(stored)).toEqual(stored);
  });

  it('refuses a bad name or a relative folder, naming the field', () => {
    const bad = activitySchema.safeParse({ ...stored, name: 'Whisper', dropDir: 'drop' });
    expect(bad.success).toBe(false);
    expect(bad.error?.issues.map((issue) => issue.path.join('.'))).toEqual(['name', 'dropDir']);
  });
});
