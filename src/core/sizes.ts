/**
 * Parses a Docker size such as 512m, 2g or 1024 (bytes) into bytes, as `docker run --shm-size`
 * reads it (binary units). Returns undefined for anything else.
 */
export function parseDockerSize(text: string): number | undefined {
  const match = /^([0-9]+(?:\.[0-9]+)?)([bkmg]?)$/i.exec(text.trim());
  if (!match) return undefined;
  const factor =
    { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[(match[2] ?? '').toLowerCase()] ?? 1;
  return Math.round(Number(match[1]) * factor);
}
