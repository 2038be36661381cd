import { access, constants } from 'node:fs/promises';

/** Debian's chromium, installed by scripts/chromium/ensure.sh (npm test does under CI). */
export const CHROMIUM = process.env.RP_CHROMIUM ?? '/usr/bin/chromium';

export const chromiumAvailable = await access(CHROMIUM, constants.X_OK).then(
  () => true,
  () => false,
);

/** Skipped without a browser on a developer's machine; under CI the missing browser fails. */
export const skipWithoutChromium = !chromiumAvailable && !process.env.CI;

export function assertChromiumForCi(): void {
  if (!chromiumAvailable && process.env.CI) {
    throw new Error(
      `CI is set but ${CHROMIUM} is missing: run scripts/chromium/ensure.sh (npm test does)`,
    );
  }
}
