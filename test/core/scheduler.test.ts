import { describe, expect, it } from 'vitest';
import type { HostCapacity, UserLimits } from '../../src/core/host-config.js';
import {
  LEDGER_VERSION,
  type JobEntry,
  type LedgerState,
  type ResourceRequest,
} from '../../src/core/ledger-state.js';
import { checkAdmission } from '../../src/core/admission.js';
import { dominantShare, pickIds } from '../../src/core/resource-amounts.js';
import { describeQueue, plan, type Plan } from '../../src/core/scheduler.js';

const GB = 1024;
const NOW = new Date('2025-03-01T12:00:00.000Z');
const MINUTE = 60_000;

function capacity(gpus: number, cpus: number, memoryGb: number): HostCapacity {
  return {
    gpus: Array.from({ length: gpus }, (_, index) => ({ index, name: 'Test GPU' })),
    cpus: Array.from({ length: cpus }, (_, i) => i),
    memoryMb: memoryGb * GB,
  };
}

const NO_LIMITS: UserLimits = { default: {}, users: {} };

function request(gpus: number, cpus = 1, memoryGb = 1): ResourceRequest {
  return { gpus, cpus, memoryMb: memoryGb * GB };
}

/** A ledger under construction: submit, finish, and apply plans as the ledger store will. */
class Ledger {
  state: LedgerState = { version: LEDGER_VERSION, nextSeq: 1, jobs: [] };

  submit(user: string, req: ResourceRequest, submittedAt: Date = NOW): JobEntry {
    const seq = this.state.nextSeq;
    const job: JobEntry = {
      id: String(1000 + seq),
      seq,
      user,
      uid: 1000,
      project: { path: `/home/${user}/p`, name: 'p' },
      kind: 'run',
      command: 'python train.py',
      request: req,
      state: 'queued',
      submittedAt: submittedAt.toISOString(),
      supervisor: { pid: 100 + seq, startTime: '1' },
    };
    this.state = { ...this.state, nextSeq: seq + 1, jobs: [...this.state.jobs, job] };
    return job;
  }

  finish(id: string): void {
    this.state = { ...this.state, jobs: this.state.jobs.filter((job) => job.id !== id) };
  }

  apply(decision: Plan): void {
    const grants = new Map(decision.grants.map((g) => [g.jobId, g.grant]));
    this.state = {
      ...this.state,
      jobs: this.state.jobs.map((job) => {
        const grant = grants.get(job.id);
        return grant === undefined
          ? job
          : { ...job, state: 'granted', grant, grantedAt: decision.grantedAt };
      }),
    };
    // As the store does (queue-transitions.ts schedule): the head is recorded with the grants.
    if (decision.head === undefined) delete this.state.head;
    else this.state.head = decision.head;
  }

  /** Plans and applies; returns the ids granted. */
  schedule(cap: HostCapacity, limits: UserLimits = NO_LIMITS, now: Date = NOW): string[] {
    const decision = plan(this.state, cap, limits, now);
    this.apply(decision);
    return decision.grants.map((g) => g.jobId);
  }

  job(id: string): JobEntry {
    const job = this.state.jobs.find((entry) => entry.id === id);
    if (job === undefined) throw new Error(`no job ${id}`);
    return job;
  }

  holding(): JobEntry[] {
    return this.state.jobs.filter((job) => job.state !== 'queued');
  }
}

describe('checkAdmission', () => {
  const cap = capacity(4, 16, 64);

  it('admits a request that fits the machine and the limit', () => {
    expect(checkAdmission(request(2, 8, 32), 'alice', cap, NO_LIMITS)).toEqual({ ok: true });
    expect(checkAdmission(request(0, 1, 1), 'alice', cap, NO_LIMITS)).toEqual({ ok: true });
  });

  it.each([
    [request(-1), 'GPUs must be a whole number'],
    [request(1.5), 'GPUs must be a whole number'],
    [request(1, 0), 'CPUs must be a whole number, 1 or more'],
    [{ gpus: 0, cpus: 1, memoryMb: 0 }, 'memory must be a whole number of MB'],
    [{ gpus: 0, cpus: 1, memoryMb: -5 }, 'memory must be a whole number of MB'],
  ])('refuses invalid request %j', (req, reason) => {
    const admission = checkAdmission(req, 'alice', cap, NO_LIMITS);
    expect(admission).toMatchObject({ ok: false, refusal: 'invalid' });
    expect(admission.ok ? '' : admission.reason).toContain(reason);
  });

  it('refuses a request larger than the machine, saying what the machine has', () => {
    const admission = checkAdmission(request(5, 32, 128), 'alice', cap, NO_LIMITS);
    expect(admission).toMatchObject({ ok: false, refusal: 'capacity' });
    const reason = admission.ok ? '' : admission.reason;
    expect(reason).toContain('asks for 5 GPUs but this host has 4 GPUs');
    expect(reason).toContain('asks for 32 CPUs but this host has 16 CPUs');
    expect(reason).toContain('asks for 128 GB memory but this host has 64 GB memory');
  });

  it('says "no GPUs" on a machine without any', () => {
    const admission = checkAdmission(request(1), 'alice', capacity(0, 4, 8), NO_LIMITS);
    expect(admission.ok ? '' : admission.reason).toContain('this host has no GPUs');
  });

  it('refuses a request larger than the user limit outright, but not one at the limit', () => {
    const limits: UserLimits = { default: { gpus: 2 }, users: { bob: { gpus: 4 } } };
    const refused = checkAdmission(request(3), 'alice', cap, limits);
    expect(refused).toMatchObject({ ok: false, refusal: 'limit' });
    expect(refused.ok ? '' : refused.reason).toContain('alice may hold at most 2 GPUs at once');
    expect(checkAdmission(request(2), 'alice', cap, limits)).toEqual({ ok: true });
    expect(checkAdmission(request(3), 'bob', cap, limits)).toEqual({ ok: true });
  });

  it('refuses users missing from the allow-list', () => {
    const limits: UserLimits = { default: {}, users: {}, allowedUsers: ['alice'] };
    expect(checkAdmission(request(1), 'alice', cap, limits)).toEqual({ ok: true });
    const refused = checkAdmission(request(1), 'mallory', cap, limits);
    expect(refused).toMatchObject({ ok: false, refusal: 'not-allowed' });
    expect(refused.ok ? '' : refused.reason).toContain('mallory is not allowed');
  });
});

describe('plan: order', () => {
  it('serves one user first come, first served', () => {
    const ledger = new Ledger();
    const cap = capacity(2, 8, 32);
    const a = ledger.submit('alice', request(1));
    const b = ledger.submit('alice', request(1));
    const c = ledger.submit('alice', request(1));
    expect(ledger.schedule(cap)).toEqual([a.id, b.id]);
    ledger.finish(b.id);
    expect(ledger.schedule(cap)).toEqual([c.id]);
  });

  it('serves users holding nothing in submission order', () => {
    const ledger = new Ledger();
    const cap = capacity(1, 8, 32);
    const first = ledger.submit('carol', request(1));
    ledger.submit('alice', request(1));
    ledger.submit('bob', request(1));
    expect(ledger.schedule(cap)).toEqual([first.id]);
  });

  it('serves a user holding less before one holding more, whatever the seq', () => {
    const ledger = new Ledger();
    const cap = capacity(2, 8, 32);
    const running = ledger.submit('alice', request(1));
    expect(ledger.schedule(cap)).toEqual([running.id]);
    ledger.submit('alice', request(1));
    const bob = ledger.submit('bob', request(1));
    expect(ledger.schedule(cap)).toEqual([bob.id]);
  });

  it('alternates between two users instead of draining the first backlog', () => {
    const ledger = new Ledger();
    const cap = capacity(4, 8, 32);
    const alice = [1, 2, 3, 4].map(() => ledger.submit('alice', request(1)));
    const bob = [1, 2, 3, 4].map(() => ledger.submit('bob', request(1)));
    const granted = ledger.schedule(cap);
    expect(granted).toEqual([alice[0]?.id, bob[0]?.id, alice[1]?.id, bob[1]?.id]);
  });

  it('measures holdings by dominant share: many cores count like GPUs', () => {
    expect(dominantShare(request(0, 8, 1), { gpus: 4, cpus: 16, memoryMb: 64 * GB })).toBe(0.5);
    expect(dominantShare(request(1, 1, 1), { gpus: 4, cpus: 16, memoryMb: 64 * GB })).toBe(0.25);
    // A host without GPUs: the GPU dimension does not count (no division by zero).
    expect(dominantShare(request(0, 4, 1), { gpus: 0, cpus: 16, memoryMb: 64 * GB })).toBe(0.25);

    // Given alice holds half the cores and no GPU, bob a quarter of the GPUs and one core
    const ledger = new Ledger();
    const cap = capacity(4, 16, 64);
    ledger.submit('alice', request(0, 8));
    ledger.submit('bob', request(1, 1));
    ledger.schedule(cap);
    // When both queue a 4-core job and only 7 cores are free
    ledger.submit('alice', request(0, 4));
    const bobs = ledger.submit('bob', request(0, 4));
    // Then bob's starts: alice holds more of the machine, though none of its GPUs
    expect(ledger.schedule(cap)).toEqual([bobs.id]);
  });
});

describe('plan: exclusivity', () => {
  it('never gives a GPU or a core to two jobs, and grants specific lowest ids', () => {
    const ledger = new Ledger();
    const cap = capacity(4, 8, 64);
    const a = ledger.submit('alice', request(2, 3));
    const b = ledger.submit('bob', request(1, 2));
    const c = ledger.submit('carol', request(1, 3));
    const d = ledger.submit('dave', request(1, 1));
    expect(ledger.schedule(cap)).toEqual([a.id, b.id, c.id]);
    expect(ledger.job(a.id).grant).toEqual({ gpus: [0, 1], cpus: [0, 1, 2], memoryMb: GB });
    expect(ledger.job(b.id).grant).toEqual({ gpus: [2], cpus: [3, 4], memoryMb: GB });
    expect(ledger.job(c.id).grant).toEqual({ gpus: [3], cpus: [5, 6, 7], memoryMb: GB });
    expect(ledger.job(d.id).state).toBe('queued');

    ledger.finish(b.id);
    expect(ledger.schedule(cap)).toEqual([d.id]);
    // d gets exactly what b freed.
    expect(ledger.job(d.id).grant).toEqual({ gpus: [2], cpus: [3], memoryMb: GB });
  });

  it('never grants memory beyond capacity', () => {
    const ledger = new Ledger();
    const cap = capacity(0, 8, 10);
    const a = ledger.submit('alice', request(0, 1, 6));
    ledger.submit('bob', request(0, 1, 5));
    expect(ledger.schedule(cap)).toEqual([a.id]);
  });

  it('treats GPUs held by running jobs as taken even when they were granted earlier', () => {
    const ledger = new Ledger();
    const cap = capacity(2, 4, 16);
    const a = ledger.submit('alice', request(1));
    ledger.schedule(cap);
    ledger.state = {
      ...ledger.state,
      jobs: ledger.state.jobs.map((job) => (job.id === a.id ? { ...job, state: 'running' } : job)),
    };
    const b = ledger.submit('bob', request(1));
    ledger.schedule(cap);
    expect(ledger.job(b.id).grant?.gpus).toEqual([1]);
  });
});

describe('pickIds', () => {
  it('prefers the lowest run of consecutive ids', () => {
    const free = [0, 2, 3, 5, 6, 7];
    expect(pickIds(free, 1)).toEqual([0]);
    expect(pickIds(free, 2)).toEqual([2, 3]);
    expect(pickIds(free, 3)).toEqual([5, 6, 7]);
  });

  it('falls back to the lowest ids when no run is long enough', () => {
    expect(pickIds([0, 2, 3, 5, 6, 7], 4)).toEqual([0, 2, 3, 5]);
    expect(pickIds([1, 3], 0)).toEqual([]);
  });

  it('keeps a job’s GPUs together in a plan', () => {
    const ledger = new Ledger();
    const cap = capacity(8, 16, 64);
    const one = ledger.submit('alice', request(1));
    const two = ledger.submit('bob', request(2));
    ledger.schedule(cap);
    ledger.finish(one.id); // frees GPU 0: free are 0, 3..7
    expect(ledger.job(two.id).grant?.gpus).toEqual([1, 2]);
    const pair = ledger.submit('carol', request(2));
    ledger.schedule(cap);
    expect(ledger.job(pair.id).grant?.gpus).toEqual([3, 4]);
  });
});

/** Gives job `id` a time limit, and (when running) the deadline it was started with. */
function limit(ledger: Ledger, id: string, seconds: number, deadline?: Date): void {
  ledger.state = {
    ...ledger.state,
    jobs: ledger.state.jobs.map((job) =>
      job.id === id
        ? {
            ...job,
            timeLimit: { seconds },
            ...(deadline ? { state: 'running', deadline: deadline.toISOString() } : {}),
          }
        : job,
    ),
  };
}

describe('plan: backfill with time limits', () => {
  const HOUR_S = 3600;
  const inOneHour = new Date(NOW.getTime() + HOUR_S * 1000);

  it("starts a later job on the head's reservation only if its limit ends before the head can start", () => {
    // Given 4 GPUs, alice's 2-GPU job running with an hour left, and bob's 4-GPU job at the head
    const ledger = new Ledger();
    const cap = capacity(4, 16, 64);
    const running = ledger.submit('alice', request(2));
    ledger.schedule(cap);
    limit(ledger, running.id, HOUR_S, inOneHour);
    const head = ledger.submit('bob', request(4));
    // When jobs that fit on the 2 GPUs the head reserves come: 30 min, 2 h, and no limit
    const short = ledger.submit('carol', request(1));
    limit(ledger, short.id, 30 * 60);
    const long = ledger.submit('dave', request(1));
    limit(ledger, long.id, 2 * HOUR_S);
    const unlimited = ledger.submit('erin', request(1));
    const decision = plan(ledger.state, cap, NO_LIMITS, NOW);
    // Then only the 30-minute job starts: it is gone before alice's job must have ended
    expect(decision.head).toEqual({ id: head.id, seq: head.seq });
    expect(decision.grants.map((g) => g.jobId)).toEqual([short.id]);
    const waiting = describeQueue(ledger.state, cap, NO_LIMITS, NOW).filter(
      (entry) => entry.status === 'waiting',
    );
    expect(waiting.map((entry) => entry.jobId)).toEqual([long.id, unlimited.id]);
  });

  it('counts the kill wait: a limit ending with it exactly when the head can start is fine', () => {
    const ledger = new Ledger();
    const cap = capacity(2, 16, 64);
    const running = ledger.submit('alice', request(1));
    ledger.schedule(cap);
    limit(ledger, running.id, HOUR_S, inOneHour);
    ledger.submit('bob', request(2));
    const exact = ledger.submit('carol', request(1));
    limit(ledger, exact.id, HOUR_S);
    const oneSecondMore = ledger.submit('dave', request(1));
    limit(ledger, oneSecondMore.id, HOUR_S + 1);
    // alice's job gives its GPU back by its deadline plus the kill wait; so does carol's.
    const withWait: UserLimits = { ...NO_LIMITS, killWaitSeconds: 30 };
    expect(plan(ledger.state, cap, withWait, NOW).grants.map((g) => g.jobId)).toEqual([exact.id]);
  });

  it('never backfills the reservation while only an unlimited job ending lets the head start', () => {
    const ledger = new Ledger();
    const cap = capacity(2, 16, 64);
    ledger.submit('alice', request(1));
    ledger.schedule(cap);
    ledger.submit('bob', request(2));
    const short = ledger.submit('carol', request(1));
    limit(ledger, short.id, 60);
    expect(plan(ledger.state, cap, NO_LIMITS, NOW).grants).toEqual([]);
  });

  it("refuses at admission a limit above the user's maxTime, and no limit where there is one", () => {
    const capped: UserLimits = { default: { maxTimeSeconds: HOUR_S }, users: {} };
    const cap = capacity(0, 4, 8);
    expect(
      checkAdmission(request(0), 'alice', cap, capped, { timeLimit: { seconds: 60 } }),
    ).toEqual({ ok: true });
    expect(checkAdmission(request(0), 'alice', cap, capped, {})).toMatchObject({
      ok: false,
      refusal: 'time',
    });
    const tooLong = checkAdmission(request(0), 'alice', cap, capped, {
      timeLimit: { seconds: 2 * HOUR_S },
    });
    expect(tooLong).toMatchObject({ ok: false, refusal: 'time' });
    expect(!tooLong.ok && tooLong.reason).toContain('at most 1h');
  });
});

describe('plan: reservation and backfill', () => {
  it('lets later jobs start only on what the head cannot use', () => {
    // Given 4 GPUs, 16 cores; alice holds 2 GPUs and 4 cores
    const ledger = new Ledger();
    const cap = capacity(4, 16, 64);
    const running = ledger.submit('alice', request(2, 4, 8));
    ledger.schedule(cap);
    // When bob's 3-GPU job (needing 8 cores) waits at the head
    const head = ledger.submit('bob', request(3, 8, 8));
    const wantsGpu = ledger.submit('carol', request(1, 1, 1));
    const cpuOnly = ledger.submit('dave', request(0, 4, 4));
    const tooManyCores = ledger.submit('erin', request(0, 5, 4));
    const decision = plan(ledger.state, cap, NO_LIMITS, NOW);
    // Then the head reserves the 2 free GPUs and 8 of the 12 free cores: a CPU-only job fits in
    // the remaining 4 cores, a GPU job and a 5-core job do not.
    expect(decision.head).toEqual({ id: head.id, seq: head.seq });
    expect(decision.grants.map((g) => g.jobId)).toEqual([cpuOnly.id]);

    const queue = describeQueue(ledger.state, cap, NO_LIMITS, NOW);
    const byId = new Map(queue.map((entry) => [entry.jobId, entry]));
    expect(byId.get(head.id)).toMatchObject({ status: 'head', waitingFor: '3 GPUs (2 free)' });
    expect(byId.get(wantsGpu.id)).toMatchObject({
      status: 'waiting',
      waitingFor: `behind job ${head.id} at the head of the queue`,
    });
    expect(byId.get(tooManyCores.id)?.status).toBe('waiting');
    expect(byId.get(cpuOnly.id)?.status).toBe('starting');

    // When alice's job ends, the head gets its GPUs before anyone else.
    ledger.apply(decision);
    ledger.finish(running.id);
    expect(ledger.schedule(cap)[0]).toBe(head.id);
  });

  it('does not let a stream of small jobs starve a big one', () => {
    // Given a 4-GPU host busy with 1-GPU jobs of two users who keep submitting more
    const ledger = new Ledger();
    const cap = capacity(4, 16, 64);
    const running: string[] = [];
    const submitSmall = (round: number) => {
      ledger.submit(round % 2 === 0 ? 'sam' : 'sue', request(1));
      ledger.submit(round % 2 === 0 ? 'sue' : 'sam', request(1));
    };
    submitSmall(0);
    submitSmall(1);
    running.push(...ledger.schedule(cap));
    expect(running).toHaveLength(4);

    // When a 4-GPU job arrives and every round one small job ends and two more arrive
    const big = ledger.submit('bella', request(4));
    let grantedInRound: number | undefined;
    for (let round = 0; round < 50 && grantedInRound === undefined; round += 1) {
      const oldest = running.shift();
      if (oldest !== undefined) ledger.finish(oldest);
      submitSmall(round);
      const granted = ledger.schedule(cap);
      if (granted.includes(big.id)) grantedInRound = round;
      running.push(...granted.filter((id) => id !== big.id));
    }

    // Then it starts once the four jobs running when it arrived have ended, and no small job
    // started in between.
    expect(grantedInRound).toBe(3);
    expect(running).toEqual([]);
  });

  it('serves a head passed over by fairness as soon as the resources free up (issue: 24 h wait)', () => {
    // Given bella holds one GPU in a long job, so her 3-GPU job ranks behind users holding nothing
    const ledger = new Ledger();
    const cap = capacity(4, 16, 64);
    const start = new Date('2025-03-01T00:00:00.000Z');
    const long = ledger.submit('bella', request(1), start);
    ledger.schedule(cap, NO_LIMITS, start);
    const big = ledger.submit('bella', request(3), start);
    const users = ['sam', 'sue', 'sid'];
    const running = users.map((user) => ledger.submit(user, request(1), start).id);
    ledger.schedule(cap, NO_LIMITS, start);

    // When every 10 minutes a small job ends and its user (now holding nothing) submits another
    let now = start;
    let grantedAt: Date | undefined;
    for (let round = 0; round < 400 && grantedAt === undefined; round += 1) {
      now = new Date(now.getTime() + 10 * MINUTE);
      const ended = running.shift();
      if (ended !== undefined) {
        const user = ledger.job(ended).user;
        ledger.finish(ended);
        ledger.submit(user, request(1), now);
      }
      const granted = ledger.schedule(cap, NO_LIMITS, now);
      if (granted.includes(big.id)) grantedAt = now;
      running.push(...granted.filter((id) => id !== big.id));
    }

    // Then the big job, once at the head, keeps its place and starts when the three small jobs
    // have ended (before the head stuck, it waited for the 24 h starvation guard).
    expect(grantedAt).toEqual(new Date(start.getTime() + 30 * MINUTE));
    expect(ledger.job(long.id).state).toBe('granted');
  });

  it('moves a job passed over for too long to the front (starvation guard)', () => {
    // Given bella's 3-GPU job has waited 25 hours with no head recorded, and sam, holding
    // nothing, asks for 3 GPUs now
    const ledger = new Ledger();
    const cap = capacity(4, 16, 64);
    const start = new Date('2025-03-01T00:00:00.000Z');
    ledger.submit('bella', request(1), start);
    ledger.schedule(cap, NO_LIMITS, start);
    const old = ledger.submit('bella', request(3), start);
    const now = new Date(start.getTime() + 25 * 60 * MINUTE);
    const fresh = ledger.submit('sam', request(3), now);
    // When the scheduler plans, then bella's job gets the 3 free GPUs, not sam's
    const decision = plan(ledger.state, cap, NO_LIMITS, now);
    expect(decision.grants.map((grant) => grant.jobId)).toEqual([old.id]);
    // (within the day, fairness serves sam first)
    const inTime = plan(ledger.state, cap, NO_LIMITS, new Date(start.getTime() + MINUTE));
    expect(inTime.grants.map((grant) => grant.jobId)).toEqual([fresh.id]);
  });
});

describe('plan: user limits', () => {
  const limits: UserLimits = { default: { gpus: 2 }, users: {} };

  it('makes a request over the limit given what the user holds wait, then grants it', () => {
    const ledger = new Ledger();
    const cap = capacity(8, 16, 64);
    const holding = ledger.submit('alice', request(1));
    ledger.schedule(cap, limits);
    const waiting = ledger.submit('alice', request(2));
    expect(ledger.schedule(cap, limits)).toEqual([]);
    const [entry] = describeQueue(ledger.state, cap, limits, NOW);
    expect(entry).toMatchObject({
      jobId: waiting.id,
      status: 'user-limit',
      waitingFor: 'user limit: 2 GPUs (alice holds 1)',
    });
    ledger.finish(holding.id);
    expect(ledger.schedule(cap, limits)).toEqual([waiting.id]);
  });

  it("keeps the limit's headroom for the user's first held-back job", () => {
    // Given alice (limit 2 GPUs) holds 1 GPU and queues a 2-GPU job, then a 1-GPU job
    const ledger = new Ledger();
    const cap = capacity(8, 16, 64);
    const holding = ledger.submit('alice', request(1));
    ledger.schedule(cap, limits);
    const big = ledger.submit('alice', request(2));
    const small = ledger.submit('alice', request(1));
    // Then the small one does not take the GPU the big one is waiting for
    expect(ledger.schedule(cap, limits)).toEqual([]);
    const small2 = describeQueue(ledger.state, cap, limits, NOW).find((e) => e.jobId === small.id);
    expect(small2?.waitingFor).toBe(`user limit: 2 GPUs (alice holds 1, 1 kept for job ${big.id})`);
    ledger.finish(holding.id);
    expect(ledger.schedule(cap, limits)).toEqual([big.id]);
  });

  it('never lets the limit of one user hold back another', () => {
    const ledger = new Ledger();
    const cap = capacity(8, 16, 64);
    ledger.submit('alice', request(2));
    ledger.schedule(cap, limits);
    ledger.submit('alice', request(1));
    const bob = ledger.submit('bob', request(2));
    expect(ledger.schedule(cap, limits)).toEqual([bob.id]);
  });

  it('keeps queued jobs that the config no longer allows, and says why they wait', () => {
    const ledger = new Ledger();
    const cap = capacity(8, 16, 64);
    ledger.submit('alice', request(4));
    const decision = plan(ledger.state, cap, limits, NOW);
    expect(decision.grants).toEqual([]);
    expect(decision).not.toHaveProperty('unservable');
    const [entry] = describeQueue(ledger.state, cap, limits, NOW);
    expect(entry?.status).toBe('unservable');
    expect(entry?.waitingFor).toBe(
      'cannot run: the request asks for 4 GPUs but alice may hold at most 2 GPUs at once',
    );
  });
});

describe('plan: the head of the queue sticks', () => {
  it('keeps a head passed over by fairness at the head until it is granted', () => {
    // Given an 8-GPU host where alice holds 6 GPUs and her 4-GPU job waits at the head
    const ledger = new Ledger();
    const cap = capacity(8, 64, 512);
    const held = [1, 2, 3, 4, 5, 6].map(() => ledger.submit('alice', request(1)));
    ledger.schedule(cap);
    const big = ledger.submit('alice', request(4));
    ledger.schedule(cap);
    expect(ledger.state.head).toEqual({ id: big.id, seq: big.seq });

    // When bob, whose share is zero, queues 2-GPU jobs and alice's jobs end one by one
    const small = [1, 2, 3].map(() => ledger.submit('bob', request(2)));
    expect(ledger.schedule(cap)).toEqual([]);
    ledger.finish(held[0]?.id ?? '');
    // Then bob's jobs never take what the head reserves, whatever his share
    expect(ledger.schedule(cap)).toEqual([]);
    expect(ledger.state.head).toEqual({ id: big.id, seq: big.seq });
    // And the head is granted as soon as 4 GPUs are free
    ledger.finish(held[1]?.id ?? '');
    expect(ledger.schedule(cap)).toEqual([big.id]);
    expect(small.every((job) => ledger.job(job.id).state === 'queued')).toBe(true);
  });

  it('gives up the head when the config no longer allows it', () => {
    const ledger = new Ledger();
    const cap = capacity(4, 64, 512);
    const blocker = ledger.submit('bob', request(4));
    ledger.schedule(cap);
    const head = ledger.submit('alice', request(2));
    ledger.schedule(cap);
    expect(ledger.state.head).toEqual({ id: head.id, seq: head.seq });
    const next = ledger.submit('carol', request(2));
    const lowered: UserLimits = { default: {}, users: { alice: { gpus: 1 } } };
    ledger.finish(blocker.id);
    expect(ledger.schedule(cap, lowered)).toEqual([next.id]);
    expect(ledger.job(head.id).state).toBe('queued');
  });
});

describe('plan: output', () => {
  it('stamps grants with now and leaves granted and running jobs alone', () => {
    const ledger = new Ledger();
    const cap = capacity(2, 4, 16);
    const a = ledger.submit('alice', request(1));
    const first = plan(ledger.state, cap, NO_LIMITS, NOW);
    expect(first.grantedAt).toBe(NOW.toISOString());
    ledger.apply(first);
    const again = plan(ledger.state, cap, NO_LIMITS, NOW);
    expect(again.grants).toEqual([]);
    expect(ledger.job(a.id).grant).toEqual({ gpus: [0], cpus: [0], memoryMb: GB });
    expect(again.head).toBeUndefined();
  });
});
