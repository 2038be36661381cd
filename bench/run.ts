/**
 * The benchmark suite: rp against its floor (Docker, Node, a bare oclif CLI) and against Slurm, on
 * this machine, in one run. Not a test: it reports medians and ratios, never pass or fail.
 *
 *   node --import tsx bench/run.ts [--quick] [--only cold,warm,footprint,dispatch,drain,ledger,sweeps,remote,slurm-backend]
 *                                  [--no-slurm] [--drain-jobs N] [--out FILE]
 *   npm run bench [-- --quick]
 *
 * Writes bench/results/<date>.json and prints the Markdown table on stdout (progress on stderr).
 * Everything it creates (a temporary RP_HOME and project, containers, images, Slurm jobs, the
 * Slurm daemons when it started them) is removed at the end, on errors and on Ctrl+C.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchContext } from './context.js';
import type { SectionResult } from './figures.js';
import { Cleanup } from './lib/cleanup.js';
import { mustRun, runProcess } from './lib/process.js';
import { waitForQuietCpu, type Quiet } from './lib/quiet.js';
import { prepareSandbox } from './lib/rp.js';
import { measureColdStart } from './measure/cold-start.js';
import { measureDispatch } from './measure/dispatch.js';
import { measureDrain } from './measure/drain.js';
import { measureFootprint } from './measure/footprint.js';
import { measureLedger } from './measure/ledger.js';
import { measureRemote } from './measure/remote.js';
import { measureSlurmBackend } from './measure/slurm-backend.js';
import { measureSweeps } from './measure/sweeps.js';
import { measureWarmRun } from './measure/warm-run.js';
import { dockerVersion, removeContainers } from './peers/docker.js';
import { startSlurm } from './peers/slurm.js';
import { renderMarkdown, type BenchResults } from './report.js';

const REPO = fileURLToPath(new URL('..', import.meta.url));

const SECTIONS: Array<{
  key: string;
  title: string;
  measure: (ctx: BenchContext) => Promise<SectionResult>;
}> = [
  { key: 'cold', title: '1. CLI cold start', measure: measureColdStart },
  { key: 'warm', title: '2. Warm run overhead', measure: measureWarmRun },
  // Before the drain: the drain sizes itself by the memory a supervisor takes.
  { key: 'footprint', title: '6. Footprint', measure: measureFootprint },
  { key: 'dispatch', title: '3. Dispatch latency', measure: measureDispatch },
  { key: 'drain', title: '4. Queue drain', measure: measureDrain },
  { key: 'ledger', title: '5. Ledger throughput', measure: measureLedger },
  { key: 'sweeps', title: '7. Sweeps', measure: measureSweeps },
  { key: 'remote', title: '8. Remote run', measure: measureRemote },
  { key: 'slurm-backend', title: '9. Slurm backend', measure: measureSlurmBackend },
];

interface Options {
  quick: boolean;
  only: Set<string> | undefined;
  slurm: boolean;
  drainJobs: number | undefined;
  out: string | undefined;
}

function parseOptions(args: string[]): Options {
  const value = (name: string): string | undefined => {
    const inline = args.find((arg) => arg.startsWith(`${name}=`));
    if (inline) return inline.slice(name.length + 1);
    const index = args.indexOf(name);
    return index === -1 ? undefined : args[index + 1];
  };
  const only = value('--only');
  const known = new Set(SECTIONS.map((section) => section.key));
  const options: Options = {
    quick: args.includes('--quick'),
    only: only === undefined ? undefined : new Set(only.split(',').filter(Boolean)),
    slurm: !args.includes('--no-slurm'),
    drainJobs: value('--drain-jobs') === undefined ? undefined : Number(value('--drain-jobs')),
    out: value('--out'),
  };
  if (
    options.drainJobs !== undefined &&
    !(Number.isInteger(options.drainJobs) && options.drainJobs > 0)
  ) {
    throw new Error('--drain-jobs: a whole number above 0');
  }
  for (const key of options.only ?? []) {
    if (!known.has(key))
      throw new Error(`--only: unknown section ${key} (${[...known].join(', ')})`);
  }
  return options;
}

const started = performance.now();
function log(line: string): void {
  const seconds = ((performance.now() - started) / 1000).toFixed(0).padStart(4);
  process.stderr.write(`[bench ${seconds}s] ${line}\n`);
}

async function versions(): Promise<Record<string, string>> {
  const pkg = JSON.parse(await readFile(join(REPO, 'package.json'), 'utf8')) as { version: string };
  const commit = await runProcess('git', ['rev-parse', '--short', 'HEAD'], { cwd: REPO });
  const out: Record<string, string> = {
    rp: `${pkg.version}${commit.code === 0 ? ` (${commit.stdout.trim()})` : ''}`,
    node: process.version,
  };
  const docker = await dockerVersion();
  if (docker) out.docker = docker;
  return out;
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const cleanup = new Cleanup();
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    log(`${signal}: cleaning up`);
    void cleanup.run(log).finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const runId = randomBytes(4).toString('hex');
  const runLabel = `rp-bench.run=${runId}`;
  const date = new Date();
  const sections: BenchResults['sections'] = {};
  const loads: Record<string, number> = {};
  const quiet: Record<string, Quiet> = {};
  let info: BenchResults['info'] | undefined;
  try {
    log(`${options.quick ? 'quick' : 'full'} run ${runId}`);
    await mustRun('bash', [join(REPO, 'scripts/ensure-docker.sh')], { timeoutMs: 600_000 });
    await mustRun('bash', [join(REPO, 'scripts/ensure-base-image.sh')], { timeoutMs: 600_000 });
    cleanup.add('remove the containers of this run', async () => {
      await removeContainers(runLabel);
    });
    const sandbox = await prepareSandbox(REPO, cleanup, log);
    log(`sandbox ${sandbox.root}, image ${sandbox.image}`);

    const wanted = SECTIONS.filter((section) => options.only?.has(section.key) ?? true);
    const slurmWanted = wanted.some((s) =>
      ['footprint', 'dispatch', 'drain', 'sweeps', 'slurm-backend'].includes(s.key),
    );
    let slurm: BenchContext['slurm'];
    let slurmSkipped: string | undefined;
    if (!options.slurm) {
      slurmSkipped = 'not asked for (--no-slurm)';
    } else if (slurmWanted) {
      const start = await startSlurm(REPO, cleanup, log);
      if (start.ok) slurm = start.slurm;
      else slurmSkipped = start.reason;
      log(start.ok ? `Slurm ${start.slurm.version} is up` : `Slurm skipped: ${start.reason}`);
    }
    const ctx: BenchContext = {
      repo: REPO,
      quick: options.quick,
      drainJobs: options.drainJobs,
      sandbox,
      runId,
      runLabel,
      slurm,
      slurmSkipped,
      log,
      facts: {},
    };
    for (const section of wanted) {
      if (stopping) break;
      log(`${section.title}…`);
      // What the last section left running skews the next: wait for quiet cores, and keep both the
      // CPU each section started under and the (lagging) load average.
      const number = section.title.split('.')[0] ?? section.key;
      quiet[number] = await waitForQuietCpu();
      const load = Number(loadavg()[0]?.toFixed(2));
      loads[number] = load;
      try {
        const result = await section.measure(ctx);
        sections[section.title] = {
          ...result,
          details: { ...result.details, loadBefore: load, cpuBefore: quiet[number] },
        };
      } catch (error) {
        const message = (error as Error).message.split('\n')[0] ?? String(error);
        log(`${section.title} failed: ${(error as Error).stack ?? message}`);
        sections[section.title] = { error: message.slice(0, 300) };
      }
    }
    // The report lists the sections in their numbered order.
    const ordered = Object.fromEntries(
      Object.entries(sections).sort(([a], [b]) => a.localeCompare(b, 'en', { numeric: true })),
    );
    const versionInfo = await versions();
    if (slurm) versionInfo.slurm = slurm.version;
    info = {
      date: date.toISOString(),
      mode: options.quick ? 'quick' : 'full',
      seconds: (performance.now() - started) / 1000,
      machine: `${cpus().length} CPUs (${cpus()[0]?.model.trim() ?? '?'}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Linux ${release()}`,
      versions: versionInfo,
      loadBefore: loads,
      cpuBefore: quiet,
    };
    const results: BenchResults = { info, sections: ordered };
    const file =
      options.out ??
      join(REPO, 'bench/results', `${date.toISOString().slice(0, 19).replace(/:/g, '-')}.json`);
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, `${JSON.stringify({ ...results, runId }, null, 2)}\n`);
    log(`results: ${relative(process.cwd(), file)}`);
    process.stdout.write(renderMarkdown(results));
  } finally {
    if (!stopping) {
      log('cleaning up');
      await cleanup.run(log);
      log(`done in ${((performance.now() - started) / 1000).toFixed(0)} s`);
    }
  }
}

main().catch((error: unknown) => {
  log(`failed: ${(error as Error).stack ?? String(error)}`);
  process.exitCode = 1;
});
