import { readFileSync } from 'node:fs';

/** The root of the installed rp package (where templates/ and package.json live). */
export const PACKAGE_ROOT = new URL('../../', import.meta.url);

let cachedVersion: string | undefined;

export function rpVersion(): string {
  cachedVersion ??= (
    JSON.parse(readFileSync(new URL('package.json', PACKAGE_ROOT), 'utf8')) as { version: string }
  ).version;
  return cachedVersion;
}

export function templatePath(relativePath: string): URL {
  return new URL(`templates/${relativePath}`, PACKAGE_ROOT);
}
