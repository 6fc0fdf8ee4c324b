/**
 * The scheduler-runtime ledger as the recorder uses it (ffi/schedrt.c): each process's whole CPU
 * time, summed in the kernel beside the scheduler's own sum_exec_runtime — exit teardown and every
 * thread's last slice included, whoever reaps the process. Root only (CAP_BPF + CAP_PERFMON); without
 * it the other sources' figures stand (taskstats, the zombie's CPU clock).
 *
 * It opens on a native thread (attaching can wait for an RCU grace period: 8–19 ms here right after
 * another run detached), so CMD never waits for it. A process of the tree forked before it opened is
 * entered then, and what it ran before is learnt from its CPU clock (read after the entry exists: the
 * clock minus what the entry holds by then); processes forked after are followed from their fork.
 */
import { dfgOnly } from "../core/jit-tier.ts";
import {
  type ExitTicks,
  type LedgerIo,
  closeSchedRuntime,
  followSchedRuntime,
  openSchedRuntime,
  schedRuntimeStatus,
  takeSchedRuntime,
} from "../../ffi/schedrt.ts";
import { processCpuNs } from "../../ffi/libc.ts";
import { mark } from "../core/timing.ts";
import { monoNsToEpochMs, realMinusMonoMs } from "./clock.ts";
import { inInitialPidNamespace, readStat } from "./procfs.ts";

/**
 * How far a ledger entry's fork time may lie from a record's start (ms). The start is the fork
 * event's timestamp (µs after the tracepoint), or a tick-based estimate (10 ms steps) for a process
 * whose fork event was lost; a pid is reused only after pid_max more forks (32,768 here: seconds even
 * in a fork storm), so an entry this close is the process's own. A pid set on purpose within it (root:
 * ns_last_pid, clone3 set_tid) closes the old entry instead (ffi/schedrt.c SR_WINDOW_NS: keep equal).
 */
export const FORK_WINDOW_MS = 100;
/** how often the opening is checked for until it is done (ms) */
const POLL_MS = 2;

const toMonoNs = (epochMs: number) => (epochMs - realMinusMonoMs()) * 1e6;

export interface SchedRuntime {
  /**
   * The whole runtime (ns) of the process with `pid` started at `startedAt` (epoch ms), taken out of
   * the ledger, and the peak RSS (KiB) of the images its execs replaced (undefined when unknown: a
   * vfork child's first image was its parent's), and the I/O of its threads that exited while it was
   * followed (bytes: a process's own I/O exactly once it has ended, when followed since its fork; a
   * lower bound when entered late, its threads that exited before unseen; undefined when the kernel
   * does not count I/O per task), and the runtime (ns) it had at its last exec (what its earlier
   * images used; undefined: no exec seen while followed); undefined when the ledger does not hold it
   * (not open, the map full, another process's entry) or the start is unknown.
   */
  take(
    pid: number,
    startedAt: number | undefined,
  ):
    | {
        runtimeNs: number | undefined;
        maxRssKb: number | undefined;
        io: LedgerIo | undefined;
        execRuntimeNs: number | undefined;
        /** KiB: at most what the images its execs replaced held (undefined: not known) */
        execPeakBoundKb: number | undefined;
        /**
         * epoch ms its exit notified its parent (the signal exit_notify generates just before waking
         * it: its end, to the ns; undefined: not seen, as for a parent that ignores SIGCHLD)
         */
        exitedAt: number | undefined;
        /** with exitedAt: what wait4 splits its runtime into user and system time by */
        exitTicks: ExitTicks | undefined;
        /**
         * epoch ms it was entered, for a process entered late (alive when the ledger opened, or a
         * daemon's adopted tool; undefined: followed since its fork): only an exec after this is seen,
         * so its bound covers what it ran before only when its last exec came after (or it has exec'd
         * once, vfork-like, and was entered with a baseline: CMD)
         */
        enteredAt: number | undefined;
      }
    | undefined;
  /**
   * Follow a process that exists now (once the ledger is open; before, a no-op): for a process that
   * is not below one followed since its fork (daemon mode: adopted tools). What it ran before is read
   * from its CPU clock.
   */
  follow(pid: number, startedAt: number | undefined, startTicks?: number): void;
  /** Detach (a no-op once closed). */
  close(): void;
  /** 1 open, 0 opening, or the negative errno it failed with */
  status(): number;
}

/** how far apart the two clock readings around an entry may be (ns), and how often they are retried */
const TIGHT_NS = 20_000;
const TIGHT_TRIES = 4;

/** a runtime the ledger took plus what the process had run before it was entered (NaN base: unknown) */
const plusBase = (ns: number | undefined, base: number) =>
  ns === undefined || Number.isNaN(base) ? undefined : ns + base;

/**
 * Start attaching the ledger's programs now, on their own thread, for openLedger(root) to take over
 * later: it takes ~1.6–2.1 ms, and begun only right before CMD's spawn it was not open when CMD's first
 * processes ran (a `dd` CMD forked at once kept taskstats' whole-KiB I/O in 2 of 4 runs). Nothing when
 * it cannot open here; closeSchedRuntime() undoes it when the ledger is not wanted after all.
 */
export function preopenLedger(root: number): void {
  if (inInitialPidNamespace()) openSchedRuntime(root);
}

/**
 * Wait up to `maxMs` for the attach preopenLedger began (nothing to wait for when none is under way).
 * Right before CMD's spawn: on a loaded host the attach's thread can still be at it then, and CMD's
 * first processes would run unfollowed (a `dd` forked at once kept taskstats' whole-KiB I/O in 1 of
 * 5 runs of tests/run/ledger-early.test.ts in a CI run); right after another run detached the same
 * tracepoints, the kernel makes the attach wait for an RCU grace period (up to 13–16 ms). Bounded, so a
 * stuck attach never holds CMD.
 */
export function awaitLedgerAttach(maxMs: number): void {
  const until = performance.now() + maxMs;
  while (schedRuntimeStatus() === 0 && performance.now() < until) Bun.sleepSync(0.1);
}

/**
 * Start opening the ledger, following `root` (tracer) and every process forked below it. When it is
 * open, `alive()` lists the processes of the tree that already exist, to be followed from then on.
 * Undefined when it cannot even start (not Linux, no native helper, not in the initial pid namespace).
 */
export function openLedger(
  root: number,
  /**
   * `maxRssBaselineKb`: for a process started with vfork semantics that has exec'd since (CMD), at
   * least the peak RSS its first exec brought from its parent (tracer's own peak, read after it)
   */
  alive: () => Iterable<{ pid: number; startedAt?: number; startTicks?: number; maxRssBaselineKb?: number }>,
  /** called once it is open and every process of the tree alive then is entered */
  onOpen?: () => void,
  /** called when the opening it began failed (not when it could not begin: undefined is returned) */
  onFail?: () => void,
): SchedRuntime | undefined {
  // the programs see global pids: in a pid namespace they would not be the recorder's
  if (!inInitialPidNamespace() || openSchedRuntime(root) < 0) return undefined;
  let closed = false;
  // processes entered once the ledger opened: what they had run before (ns, NaN when unknown), and the
  // start they were entered with (a later process with the pid must not get it)
  const before = new Map<number, { ns: number; startedAt: number; baselined: boolean; enteredAt: number }>();
  /** true when `pid` was entered now (false: followed already, no room, or not its process) */
  const enter = (
    pid: number,
    startedAt: number,
    startTicks: number | undefined,
    baselineKb?: number,
  ): boolean => {
    const mono = toMonoNs(startedAt);
    if (followSchedRuntime(pid, mono, baselineKb) !== 1) return false; // followed since its fork, or no room
    // an exec after this the kernel sees (and folds every image it replaced into its bound)
    const enteredAt = Date.now();
    // What ran before the entry existed: clock − entry, both charged by the same scheduler updates. A
    // slice charged between two reads would be in one and not the other (tracer preempted there while
    // CMD's threads run: ~1 ms short), so the entry is read between two readings of the clock; what
    // ran before lies between their differences with it. Read again while the two clocks are further
    // apart than TIGHT_NS, a few times at most, keeping the tightest; its midpoint is the figure.
    let ns = Number.NaN;
    let spread = Number.POSITIVE_INFINITY;
    for (let i = 0; i < TIGHT_TRIES && spread > TIGHT_NS; i++) {
      const c1 = processCpuNs(pid);
      const entry = takeSchedRuntime(pid, 1, 0, true);
      const c2 = processCpuNs(pid);
      if (c1 === undefined || c2 === undefined || !entry) break;
      if (c2 - c1 < spread) {
        spread = c2 - c1;
        ns = (c1 + c2) / 2 - entry.runtimeNs;
      }
    }
    // the pid still the record's process after the clock was read (a pid is reused only after a reap;
    // ±2 ticks as the recorder's own identity): else entry and clock are another process's — dropped
    const st = readStat(pid);
    if (startTicks !== undefined && (!st || Math.abs(st.startTicks - startTicks) > 2)) {
      takeSchedRuntime(pid, 1, 0);
      return false;
    }
    before.set(pid, { ns, startedAt, baselined: baselineKb !== undefined, enteredAt });
    return true;
  };
  let open = false;
  const poll = setInterval(() => {
    const s = schedRuntimeStatus();
    if (s === 0) return;
    clearInterval(poll);
    if (s < 0 && !closed) onFail?.();
    if (s < 0 || closed) return;
    open = true;
    // A process forked after alive()'s read of the forks but before its parent was entered is followed
    // by neither that pass nor the kernel (its parent was not in the map at its fork): a `head` at the
    // start of a pipeline then had no entry, its CPU short of rusage by its exit teardown
    // (tests/run/oracle.test.ts, ~1 run in 20). Another pass reads the forks queued since; it ends
    // when one enters nothing, since a fork after that has an entered parent.
    for (let pass = 0; pass < 8; pass++) {
      let entered = 0;
      for (const p of alive())
        if (p.startedAt !== undefined && enter(p.pid, p.startedAt, p.startTicks, p.maxRssBaselineKb))
          entered++;
      if (entered === 0) break;
    }
    // from here a process forked anywhere in the tree is followed from its fork (tests/run/oracle.test.ts)
    mark("ledger open");
    onOpen?.();
  }, POLL_MS);
  const ledger: SchedRuntime = {
    take(pid, startedAt) {
      if (startedAt === undefined) return undefined;
      const mono = toMonoNs(startedAt);
      const w = FORK_WINDOW_MS * 1e6;
      const got = takeSchedRuntime(pid, mono - w, mono + w);
      const b = before.get(pid);
      before.delete(pid);
      // the same process: its start may have become exact (the fork event) since it was entered
      const base = b && Math.abs(b.startedAt - startedAt) <= FORK_WINDOW_MS ? b.ns : 0;
      if (!got) return undefined;
      // entered late (alive when the ledger opened), its entry cannot tell a vfork child whose exec
      // since brought its parent's peak into its maxrss: unknown — unless entered with a baseline (CMD)
      const maxRssKb = b && !b.baselined ? undefined : got.maxRssKb;
      // at most what the images its execs replaced held: the kernel's signal->maxrss at an exec seen
      // here is the largest of all of them (for a vfork child its parent's peak too: more, still a
      // bound), or for a vfork child the baseline its images stayed under; 0: no exec seen here
      const execPeakBoundKb = got.maxRssBoundKb || undefined;
      return {
        runtimeNs: plusBase(got.runtimeNs, base),
        maxRssKb,
        io: got.io,
        execRuntimeNs: plusBase(got.execRuntimeNs, base),
        execPeakBoundKb,
        exitedAt: got.exitNs === undefined ? undefined : monoNsToEpochMs(got.exitNs),
        exitTicks: got.exitTicks,
        enteredAt: b?.enteredAt,
      };
    },
    follow(pid, startedAt, startTicks) {
      if (open && !closed && startedAt !== undefined) enter(pid, startedAt, startTicks);
    },
    close() {
      if (closed) return;
      closed = true;
      open = false;
      clearInterval(poll);
      closeSchedRuntime();
    },
    status: schedRuntimeStatus,
  };
  // called for every process that ends
  dfgOnly(ledger.take);
  return ledger;
}

const REASONS: Record<number, string> = {
  1: "not permitted (needs root: CAP_BPF and CAP_PERFMON)",
  38: "not supported here (Linux on x86-64 or arm64 with eBPF)",
  71: "the kernel's type information (/sys/kernel/btf/vmlinux) is not what tracer expects",
  2: "no kernel type information (/sys/kernel/btf/vmlinux)",
  61: "its programs loaded but counted none of this thread's CPU time (self-check failed)",
};

/**
 * Open the ledger for this process and wait for the outcome (up to `waitMs`): a handle to close it, or
 * why it did not open, in words (it is closed then).
 */
export function probeLedgerOpen(waitMs = 1000): { close(): void } | string {
  // as openLedger: its self-check would fail on the namespace's pid and blame the kernel's types
  if (!inInitialPidNamespace()) return "not in the initial pid namespace (its programs see global pids)";
  const started = openSchedRuntime(process.pid);
  let s = Math.min(started, 0);
  for (const until = performance.now() + waitMs; s === 0 && performance.now() < until; ) {
    Bun.sleepSync(1);
    s = schedRuntimeStatus();
  }
  if (s === 1) return { close: closeSchedRuntime };
  if (started >= 0) closeSchedRuntime();
  if (s === 0) return `no answer within ${waitMs} ms`;
  return REASONS[-s] ?? `error ${-s}`;
}

/**
 * Whether the ledger can be opened here: opens it for this process, waits for the outcome (up to
 * `waitMs`), closes it. `reason` says why not, in words.
 */
export function probeSchedRuntime(waitMs = 1000): { available: boolean; reason: string } {
  const open = probeLedgerOpen(waitMs);
  if (typeof open === "string") return { available: false, reason: open };
  // the fourth program (sched_process_exit: each exiting thread's I/O) is optional: the ledger opens
  // without it, its entries then carry no I/O (this process's own entry, looked at and kept, tells)
  const io = takeSchedRuntime(process.pid, 1, 0, true)?.io !== undefined;
  open.close();
  const programs = "eBPF: sched_stat_runtime + sched_process_fork + sched_process_exec";
  return {
    available: true,
    reason: io
      ? `${programs} + sched_process_exit`
      : `${programs} (sched_process_exit did not load: no per-process I/O from the ledger)`,
  };
}

// called for every message or process of a recording: kept out of the FTL tier (src/observe/tiers.ts)
dfgOnly(plusBase);
