import { describe, expect, it } from 'vitest';
import { isIgnored, parseDockerignore } from '../../src/core/dockerignore.js';

function ignored(patterns: string, path: string): boolean {
  return isIgnored(path, parseDockerignore(patterns));
}

describe('.dockerignore', () => {
  it('ignores nothing without rules', () => {
    expect(ignored('', 'a/b.txt')).toBe(false);
  });

  it('skips comments and blank lines', () => {
    expect(ignored('# data\n\n', 'data')).toBe(false);
  });

  it('matches a name at the top level only', () => {
    expect(ignored('data', 'data')).toBe(true);
    expect(ignored('data', 'sub/data')).toBe(false);
  });

  it('excludes everything below a matched folder', () => {
    expect(ignored('data', 'data/x/y.bin')).toBe(true);
    expect(ignored('/data/', 'data/y.bin')).toBe(true);
  });

  it('keeps * within one path component', () => {
    expect(ignored('*.log', 'a.log')).toBe(true);
    expect(ignored('*.log', 'sub/a.log')).toBe(false);
    expect(ignored('*/*.log', 'sub/a.log')).toBe(true);
  });

  it('lets ** span folders', () => {
    expect(ignored('**/*.pyc', 'a.pyc')).toBe(true);
    expect(ignored('**/*.pyc', 'a/b/c.pyc')).toBe(true);
    expect(ignored('a/**/z', 'a/z')).toBe(true);
    expect(ignored('a/**/z', 'a/b/c/z')).toBe(true);
  });

  it('supports ? and character classes', () => {
    expect(ignored('file?.txt', 'file1.txt')).toBe(true);
    expect(ignored('file?.txt', 'file10.txt')).toBe(false);
    expect(ignored('file[0-2].txt', 'file2.txt')).toBe(true);
    expect(ignored('file[0-2].txt', 'file3.txt')).toBe(false);
  });

  it('lets the last matching rule win, and ! re-includes', () => {
    const rules = '*.md\n!README.md';
    expect(ignored(rules, 'notes.md')).toBe(true);
    expect(ignored(rules, 'README.md')).toBe(false);
    expect(ignored('!README.md\n*.md', 'README.md')).toBe(true);
  });

  it('re-includes a file inside an excluded folder', () => {
    const rules = 'data\n!data/keep.txt';
    expect(ignored(rules, 'data/other.txt')).toBe(true);
    expect(ignored(rules, 'data/keep.txt')).toBe(false);
  });

  it('treats regex characters in names literally', () => {
    expect(ignored('a+b(1).txt', 'a+b(1).txt')).toBe(true);
    expect(ignored('a.txt', 'abtxt')).toBe(false);
  });
});
