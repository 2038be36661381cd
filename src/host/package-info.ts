import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The root of the installed rp package (where templates/ and package.json live). */
export const PACKAGE_ROOT = new URL('../../', import.meta.url);

/** rp's own launcher, `bin/run.js` of the package: what starts rp again as another process. */
export const RP_BIN = fileURLToPath(new URL('bin/run.js', PACKAGE_ROOT));

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
