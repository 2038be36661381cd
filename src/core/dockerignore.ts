/**
 * `.dockerignore` semantics, as Docker applies them to a build context: one pattern a line, '#'
 * comments, a leading '!' re-includes, '*' and '?' stay within a path component, '**' spans any
 * number of them, and the last matching pattern wins. A pattern matching a folder excludes
 * everything below it.
 */

export interface IgnoreRule {
  regex: RegExp;
  negate: boolean;
}

export function parseDockerignore(text: string): IgnoreRule[] {
  const rules: IgnoreRule[] = [];
  for (const raw of text.split(/\r?\n/)) {
    let line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const negate = line.startsWith('!');
    if (negate) line = line.slice(1).trim();
    const pattern = cleanPath(line);
    if (pattern === '') continue;
    rules.push({ regex: patternToRegex(pattern), negate });
  }
  return rules;
}

/** Whether the context-relative path (with '/' separators) is left out of the build context. */
export function isIgnored(relativePath: string, rules: readonly IgnoreRule[]): boolean {
  const path = cleanPath(relativePath);
  const parents = parentPaths(path);
  let ignored = false;
  for (const rule of rules) {
    const matches = rule.regex.test(path) || parents.some((parent) => rule.regex.test(parent));
    if (matches) ignored = !rule.negate;
  }
  return ignored;
}

/** Whether any rule re-includes something, so an ignored folder must still be walked. */
export function hasExceptions(rules: readonly IgnoreRule[]): boolean {
  return rules.some((rule) => rule.negate);
}

function cleanPath(path: string): string {
  const parts: string[] = [];
  for (const part of path.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') parts.pop();
    else parts.push(part);
  }
  return parts.join('/');
}

function parentPaths(path: string): string[] {
  const parts = path.split('/');
  const parents: string[] = [];
  for (let i = 1; i < parts.length; i += 1) parents.push(parts.slice(0, i).join('/'));
  return parents;
}

function patternToRegex(pattern: string): RegExp {
  let source = '';
  for (let i = 0; i < pattern.length; i += 1) {
    const char = pattern[i] as string;
    if (char === '*') {
      if (pattern[i + 1] === '*') {
        i += 1;
        if (pattern[i + 1] === '/') {
          i += 1;
          source += '(?:.*/)?';
        } else {
          source += '.*';
        }
      } else {
        source += '[^/]*';
      }
    } else if (char === '?') {
      source += '[^/]';
    } else if (char === '\\' && i + 1 < pattern.length) {
      i += 1;
      source += escapeRegex(pattern[i] as string);
    } else if (char === '[') {
      const end = pattern.indexOf(']', i + 1);
      if (end === -1) {
        source += '\\[';
      } else {
        let set = pattern.slice(i + 1, end);
        if (set.startsWith('^')) set = `^${set.slice(1)}`;
        source += `[${set.replace(/\\/g, '\\\\')}]`;
        i = end;
      }
    } else {
      source += escapeRegex(char);
    }
  }
  return new RegExp(`^${source}$`);
}

function escapeRegex(char: string): string {
  return /[.*+?^${}()|[\]\\/]/.test(char) ? `\\${char}` : char;
}
