import { describe, expect, it } from 'vitest';
import { parseDockerSize } from '../../src/core/sizes.js';

describe('parseDockerSize', () => {
  it.each([
    ['1024', 1024],
    ['2k', 2048],
    ['512m', 512 * 1024 ** 2],
    ['2g', 2 * 1024 ** 3],
    ['1.5G', 1.5 * 1024 ** 3],
    ['10b', 10],
  ])('%s -> %d', (text, bytes) => {
    expect(parseDockerSize(text)).toBe(bytes);
  });

  it.each(['', 'lots', '2gb', '-1g', 'g'])('rejects %j', (text) => {
    expect(parseDockerSize(text)).toBeUndefined();
  });
});
