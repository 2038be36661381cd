import { readFileSync, writeFileSync } from 'node:fs';
import { withFileLock } from './src/ledger/lock.js';
const [, dir, startAt] = process.argv.slice(2);
const target = `${dir}/counter`; const lockPath = `${target}.lock`;
while (Date.now() < Number(startAt)) await new Promise((r) => setTimeout(r, 1));
const bump = async () => { const n = Number(readFileSync(target, 'utf8')); await new Promise((r) => setTimeout(r, 3)); writeFileSync(target, String(n + 1)); };
await withFileLock({ target, lockPath, settings: { staleMs: 2000, updateMs: 1000, timeoutMs: 60000 } }, async () => bump());
