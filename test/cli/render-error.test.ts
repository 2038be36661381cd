import { describe, expect, it } from 'vitest';
import { renderError } from '../../src/cli/render-error.js';
import { BuildError, ConfigError } from '../../src/core/errors.js';

describe('renderError', () => {
  it('shows message and hint, no stack', () => {
    const text = renderError(new ConfigError('bad field', { hint: 'fix it' }), false);
    expect(text).toBe('rp: bad field\nhint: fix it\n');
  });

  it('shows the stack only in debug mode', () => {
    expect(renderError(new ConfigError('x'), true)).toMatch(/at /);
  });

  it('calls anything else a bug, without a stack unless debugging', () => {
    const text = renderError(new TypeError('undefined is not a function'), false);
    expect(text).toContain('unexpected error: undefined is not a function');
    expect(text).not.toMatch(/\n\s+at /);
  });

  it('keeps exit codes on the errors', () => {
    expect(new ConfigError('x').exitCode).toBe(3);
    expect(new BuildError('x', {}).exitCode).toBe(125);
  });
});
