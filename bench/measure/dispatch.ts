/**
 * 3. Dispatch latency: a job holds every CPU, the next one waits; the first is released and the
 * time from its container's exit (Docker's `die` event) to the next container's `start` event is
 * the hand-over, the time a free machine sits idle. Each peer runs a chain of jobs, each waiting
 * behind the one before, released one by one once the next is certainly queued.
 *
 *   rp:     `rp run --script="hold.sh KEY" --cpu 2 --detach`
 *   Slurm:  `sbatch -c 2 --wrap "docker run --rm ... <image> bash hold.sh KEY"`
 *   Docker: the floor, no queue at all: a shell waiting in `docker wait` on the first container
 *           that then runs the next one (`docker wait A; docker run -d ...`).
 */
import type { ChildProcess } from 'node:child_process';
import type { BenchContext } from '../context.js';
import { figure, type Figure, type SectionResult, type Skip } from '../figures.js';
import {
  followContainerEvents,
  type ContainerEvent,
  type EventStream,
} from '../lib/docker-events.js';
import { sleep, startProcess, stopProcess, until } from '../lib/process.js';
import { ledgerJobs, release, submitDetached } from '../lib/rp.js';
import { BENCH_LABEL, removeContainers } from '../peers/docker.js';
import { activeJobs, cancelJobs, sbatch } from '../peers/slurm.js';
import { rotation } from '../stats.js';

const SECTION = '3. Dispatch latency';
/** After the next job is queued, how long before the running one is released. */
const SETTLE_MS = 1_000;
const STEP_TIMEOUT_MS = 60_000;

type Peer = 'rp' | 'slurm' | 'docker';

interface Handover {
  ms: number;
  /** rp only: of which the removal of the finished container (die to destroy). */
  removalMs?: number;
}

/**
 * The start event of the container labelled label=value, not earlier than `since` (rp's job ids
 * are unique among live jobs only, so an id comes back later in a long chain).
 */
async function startOf(
  events: EventStream,
  label: string,
  value: string,
  since: number,
): Promise<ContainerEvent> {
  return events.waitFor(
    `the start of the container with ${label}=${value}`,
    (e) => e.action === 'start' && e.attributes[label] === value && e.timeMs >= since,
    STEP_TIMEOUT_MS,
  );
}

/** The time of `action` (die, destroy) of the container that `start` started. */
async function laterEvent(
  events: EventStream,
  start: ContainerEvent,
  action: string,
): Promise<number> {
  const event = await events.waitFor(
    `${action} of container ${start.id.slice(0, 12)}`,
    (e) => e.action === action && e.id === start.id,
    STEP_TIMEOUT_MS,
  );
  return event.timeMs;
}

async function rpChain(ctx: BenchContext, round: number, count: number): Promise<Handover[]> {
  const { sandbox } = ctx;
  const events = await followContainerEvents(sandbox.projectLabel);
  const keys = Array.from({ length: count + 1 }, (_, i) => `${ctx.runId}-rp-${round}-${i}`);
  const handovers: Handover[] = [];
  try {
    const submit = async (key: string) => {
      const since = Date.now();
      const { id } = await submitDetached(sandbox, [`--script=hold.sh ${key}`, '--cpu', '2']);
      return { id, since };
    };
    const first = await submit(keys[0] as string);
    let previous = await startOf(events, 'rp.job', first.id, first.since);
    for (let i = 1; i <= count; i += 1) {
      const next = await submit(keys[i] as string);
      await sleep(SETTLE_MS);
      await release(sandbox.project, keys[i - 1] as string);
      const start = await startOf(events, 'rp.job', next.id, next.since);
      const die = await laterEvent(events, previous, 'die');
      const destroy = await laterEvent(events, previous, 'destroy');
      handovers.push({ ms: start.timeMs - die, removalMs: destroy - die });
      previous = start;
    }
  } finally {
    for (const key of keys) await release(sandbox.project, key);
    await until(
      'the dispatch jobs to leave the ledger',
      async () => ((await ledgerJobs(sandbox)).length === 0 ? true : undefined),
      STEP_TIMEOUT_MS,
      100,
    );
    await events.stop();
  }
  return handovers;
}

function dockerArgs(ctx: BenchContext, key: string): string[] {
  return [
    '--label',
    BENCH_LABEL,
    '--label',
    ctx.runLabel,
    '--label',
    `rp-bench.key=${key}`,
    '-v',
    `${ctx.sandbox.project}:/w`,
    '-w',
    '/w',
  ];
}

async function slurmChain(ctx: BenchContext, round: number, count: number): Promise<Handover[]> {
  const { sandbox } = ctx;
  const name = `rp-bench-${ctx.runId}-dispatch`;
  const events = await followContainerEvents(ctx.runLabel);
  const keys = Array.from({ length: count + 1 }, (_, i) => `${ctx.runId}-slurm-${round}-${i}`);
  const handovers: Handover[] = [];
  try {
    const submit = async (key: string) => {
      const args = [...dockerArgs(ctx, key), '--label', 'rp-bench.slurm-job=$SLURM_JOB_ID'];
      const wrap = `exec docker run --rm ${args.map((a) => `"${a}"`).join(' ')} ${sandbox.image} bash hold.sh ${key}`;
      return (await sbatch({ name, cpus: 2, wrap, chdir: sandbox.project })).id;
    };
    await submit(keys[0] as string);
    let previous = await startOf(events, 'rp-bench.key', keys[0] as string, 0);
    for (let i = 1; i <= count; i += 1) {
      const id = await submit(keys[i] as string);
      await until(
        `Slurm job ${id} to be pending`,
        async () => ((await activeJobs(name)).get(id) === 'PENDING' ? true : undefined),
        STEP_TIMEOUT_MS,
      );
      await sleep(SETTLE_MS);
      await release(sandbox.project, keys[i - 1] as string);
      const start = await startOf(events, 'rp-bench.key', keys[i] as string, 0);
      const die = await laterEvent(events, previous, 'die');
      handovers.push({ ms: start.timeMs - die });
      previous = start;
    }
  } finally {
    for (const key of keys) await release(sandbox.project, key);
    await until(
      'the Slurm dispatch jobs to end',
      async () => ((await activeJobs(name)).size === 0 ? true : undefined),
      STEP_TIMEOUT_MS,
      100,
    ).catch(() => cancelJobs(name, ctx.runLabel));
    await events.stop();
  }
  return handovers;
}

async function dockerChain(ctx: BenchContext, round: number, count: number): Promise<Handover[]> {
  const { sandbox } = ctx;
  const events = await followContainerEvents(ctx.runLabel);
  const keys = Array.from({ length: count + 1 }, (_, i) => `${ctx.runId}-docker-${round}-${i}`);
  const handovers: Handover[] = [];
  const waiters: ChildProcess[] = [];
  const run = (key: string) =>
    ['docker', 'run', '-d', '--rm', '--name', `rp-bench-${key}`, ...dockerArgs(ctx, key)]
      .concat([sandbox.image, 'bash', 'hold.sh', key])
      .join(' ');
  try {
    waiters.push(startProcess('sh', ['-c', `${run(keys[0] as string)} >/dev/null`]));
    let previous = await startOf(events, 'rp-bench.key', keys[0] as string, 0);
    for (let i = 1; i <= count; i += 1) {
      const name = `rp-bench-${keys[i - 1] as string}`;
      const next = `docker wait ${name} >/dev/null 2>&1; ${run(keys[i] as string)} >/dev/null`;
      waiters.push(startProcess('sh', ['-c', next]));
      await sleep(SETTLE_MS);
      await release(sandbox.project, keys[i - 1] as string);
      const start = await startOf(events, 'rp-bench.key', keys[i] as string, 0);
      const die = await laterEvent(events, previous, 'die');
      handovers.push({ ms: start.timeMs - die });
      previous = start;
    }
  } finally {
    for (const key of keys) await release(sandbox.project, key);
    for (const waiter of waiters) await stopProcess(waiter, 'SIGTERM', 5_000);
    await sleep(500);
    await removeContainers(ctx.runLabel);
    await events.stop();
  }
  return handovers;
}

export async function measureDispatch(ctx: BenchContext): Promise<SectionResult> {
  const rounds = ctx.quick ? 1 : 2;
  const perRound = ctx.quick ? 5 : 10;
  const peers: Peer[] = ctx.slurm ? ['rp', 'slurm', 'docker'] : ['rp', 'docker'];
  const results: Record<Peer, Handover[]> = { rp: [], slurm: [], docker: [] };
  for (let round = 0; round < rounds; round += 1) {
    for (const peer of rotation(peers, round)) {
      const chain = peer === 'rp' ? rpChain : peer === 'slurm' ? slurmChain : dockerChain;
      results[peer].push(...(await chain(ctx, round, perRound)));
      ctx.log(`dispatch: ${peer} round ${round + 1}/${rounds} done`);
    }
  }
  const ms = (peer: Peer) => results[peer].map((h) => h.ms);
  // Hand-overs are paired by their place in the chains, which ran in alternation round by round.
  const rpRatios = [{ against: 'Docker floor', of: ms('rp'), to: ms('docker') }];
  if (ctx.slurm) rpRatios.unshift({ against: 'Slurm', of: ms('rp'), to: ms('slurm') });
  const figures: Figure[] = [
    figure(SECTION, 'rp: hand-over to a waiting `rp run --detach`', 'ms', ms('rp'), {
      ratios: rpRatios,
    }),
    figure(
      SECTION,
      'rp: of which removing the finished container (die → destroy)',
      'ms',
      results.rp.map((h) => h.removalMs ?? Number.NaN),
    ),
  ];
  const skips: Skip[] = [];
  if (ctx.slurm) {
    figures.push(
      figure(SECTION, 'Slurm: hand-over to a pending sbatch job', 'ms', ms('slurm'), {
        ratios: [{ against: 'Docker floor', of: ms('slurm'), to: ms('docker') }],
        note: 'batch_sched_delay=0, sched_min_interval=0, Epilog removes leftover containers',
      }),
    );
  } else {
    skips.push({ section: SECTION, subject: 'Slurm', reason: ctx.slurmSkipped ?? '' });
  }
  figures.push(
    figure(SECTION, 'Docker floor: `docker wait A; docker run -d B`', 'ms', ms('docker')),
  );
  return { figures, skips, details: { rounds, perRound, settleMs: SETTLE_MS } };
}
