import { describe, expect, it } from 'vitest';
import {
  imageContentHash,
  imageReference,
  type ImageInputs,
} from '../../src/core/image-identity.js';

const inputs: ImageInputs = {
  generated: [
    { path: '.rp-build/Dockerfile', content: 'FROM x\n', mode: 0o644 },
    { path: '.rp-build/entrypoint.sh', content: '#!/bin/bash\n', mode: 0o755 },
  ],
  contextFiles: [
    { path: 'requirements.txt', mode: 0o644, digest: 'aaa' },
    { path: 'setup.sh', mode: 0o755, digest: 'bbb' },
  ],
};

describe('imageContentHash', () => {
  it('is stable and independent of listing order', () => {
    const shuffled: ImageInputs = {
      generated: [...inputs.generated].reverse(),
      contextFiles: [...inputs.contextFiles].reverse(),
    };
    expect(imageContentHash(shuffled)).toBe(imageContentHash(inputs));
  });

  it('changes with a generated file, a context file, its mode, or its name', () => {
    const base = imageContentHash(inputs);
    const changed = [
      {
        ...inputs,
        generated: [{ path: '.rp-build/Dockerfile', content: 'FROM y\n', mode: 0o644 }],
      },
      { ...inputs, contextFiles: [{ path: 'requirements.txt', mode: 0o644, digest: 'ccc' }] },
      { ...inputs, contextFiles: [{ path: 'requirements.txt', mode: 0o755, digest: 'aaa' }] },
      { ...inputs, contextFiles: [{ path: 'other.txt', mode: 0o644, digest: 'aaa' }] },
    ];
    for (const variant of changed) expect(imageContentHash(variant)).not.toBe(base);
  });
});

describe('imageReference', () => {
  it('tags the repository with the start of the hash', () => {
    expect(imageReference('rp/alice-x', 'abcdef0123456789ffff')).toBe(
      'rp/alice-x:abcdef0123456789',
    );
  });
});
