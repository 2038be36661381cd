import { describe, expect, it } from 'vitest';
import { renderDockerfile, renderEntrypoint, type ImageUser } from '../../src/core/dockerfile.js';

const alice: ImageUser = { name: 'alice', uid: 1000, gid: 1000 };

function render(user: ImageUser = alice, hooks: { pre?: string; post?: string } = {}): string {
  return renderDockerfile({
    base: 'FROM rp-base:bookworm\nRUN echo base\n',
    hookPreUseradd: hooks.pre ?? 'RUN echo pre',
    hookPostUseradd: hooks.post ?? 'RUN echo post',
    user,
  });
}

function indexOf(text: string, needle: string): number {
  const index = text.indexOf(needle);
  expect(index, `"${needle}" in Dockerfile`).toBeGreaterThanOrEqual(0);
  return index;
}

describe('renderDockerfile', () => {
  it('puts base, pre hook (as root), user layer, USER, post hook, then the bashhook wiring in order', () => {
    const text = render();
    const order = [
      indexOf(text, 'FROM rp-base:bookworm'),
      indexOf(text, 'USER root\nRUN echo pre'),
      indexOf(text, 'useradd -M'),
      indexOf(text, 'USER 1000:1000'),
      indexOf(text, 'RUN echo post'),
      indexOf(text, 'COPY .rp-build/bashhook.sh /etc/rp/bashhook.sh'),
      indexOf(text, 'ENTRYPOINT ["/usr/local/bin/rp-entrypoint"]'),
    ];
    expect([...order].sort((a, b) => a - b)).toEqual(order);
  });

  it('creates the user with the host uid AND gid (the original mapped the uid only)', () => {
    const text = render({ name: 'bob', uid: 1234, gid: 5678 });
    expect(text).toContain('groupadd -g 5678 bob');
    expect(text).toContain('useradd -M -N -u 1234 -g 5678 -s /bin/bash bob');
    expect(text).toContain('USER 1234:5678');
    expect(text).toContain('chown 1234:5678 /home/bob');
  });

  it('reuses a group that already has the gid instead of failing on groupadd', () => {
    const text = render();
    expect(text).toMatch(/if ! getent group 1000 >\/dev\/null; then/);
  });

  it('renames a user that already holds the uid (ubuntu:1000 in Ubuntu 24.04 images)', () => {
    const text = render();
    expect(text).toContain('holder="$(getent passwd 1000 | cut -d: -f1)"');
    expect(text).toContain('usermod -l alice -g 1000 "$holder"');
  });

  it('gives an existing user of the same name our uid and gid', () => {
    expect(render()).toContain('usermod -o -u 1000 -g 1000 alice');
  });

  it('makes the home folder /home/<user> whatever the base had', () => {
    const text = render();
    expect(text).toContain('usermod -d /home/alice alice');
    expect(text).toContain('WORKDIR /home/alice');
  });

  it('creates no user for root and runs as root', () => {
    const text = render({ name: 'root', uid: 0, gid: 0 });
    expect(text).not.toMatch(/useradd -|usermod -|groupadd -/);
    expect(text).toContain('USER 0:0');
  });

  it('uses only POSIX sh in the user layer (no bash-only syntax, so dash or bash both work)', () => {
    const text = render();
    const layer = text.slice(
      text.indexOf('# ---- rp: the host user'),
      text.indexOf('USER 1000:1000'),
    );
    expect(layer).not.toMatch(/\[\[|\$\(\(|function |source |==/);
  });

  it('keeps hook text verbatim and tolerates empty hooks', () => {
    expect(render(alice, { pre: 'RUN apt-get install -y git\n\n\n' })).toContain(
      'RUN apt-get install -y git\n',
    );
    expect(() => render(alice, { pre: '', post: '' })).not.toThrow();
  });

  it('sources the bashhook for interactive shells through /etc/bash.bashrc', () => {
    expect(render()).toContain('>> /etc/bash.bashrc');
  });

  it('differs when any input differs (so the content hash changes)', () => {
    const variants = new Set([
      render(),
      render({ ...alice, uid: 1001 }),
      render({ ...alice, gid: 1001 }),
      render({ ...alice, name: 'bob' }),
      render(alice, { pre: 'RUN true' }),
      render(alice, { post: 'RUN true' }),
    ]);
    expect(variants.size).toBe(6);
  });
});

describe('renderEntrypoint', () => {
  it('sources the hook then execs the job argument vector', () => {
    const text = renderEntrypoint();
    expect(text.startsWith('#!/bin/bash\n')).toBe(true);
    expect(text).toContain('. /etc/rp/bashhook.sh');
    expect(text.trim().endsWith('exec "$@"')).toBe(true);
  });
});
