import { describe, expect, it } from 'vitest';
import { connectDocker } from '../../src/docker/engine.js';

describe('connectDocker', () => {
  it('resolves to the engine itself, not to a thenable that await would unwrap', async () => {
    const engine = await connectDocker();
    expect((engine as unknown as { then?: unknown }).then).toBeUndefined();
    expect(typeof engine.ping).toBe('function');
    expect(typeof engine.listJobContainers).toBe('function');
  });

  it('hands out each method once, so a method read twice is the same function', async () => {
    const engine = await connectDocker();
    expect(engine.ping).toBe(engine.ping);
  });
});
