/**
 * `tracer run`: record CMD's whole process tree as one run, directly into the store. The supervisor
 * runs CMD; the capture sources feed the recorder; the sampler adds live samples and system metrics.
 */
import { hostname } from "../core/host.ts";
import { note } from "../core/output.ts";
import { ExecWatcher } from "../observe/execwatch.ts";
import { readStatus } from "../observe/procfs.ts";
import { openSources, stopSources, syncSources } from "../observe/sources.ts";
import { type SchedRuntime, awaitLedgerAttach, openLedger, preopenLedger } from "../observe/schedrt.ts";
import { closeSchedRuntime } from "../../ffi/schedrt.ts";
import { Recorder } from "../observe/recorder.ts";
import { Sampler } from "../observe/sampler.ts";
import { SystemSampler } from "../observe/system.ts";
import type { CaptureMode, CaptureSource } from "../observe/types.ts";
import { ConnectorSource, type Pace } from "../observe/connector.ts";
// the store's modules this needs, not its index: the read side (scan.ts, prune.ts, and bun:jsc with
// them) stays out of `tracer run`'s start-up (issue 15)
import { inTransaction, openStore, unlessBusy } from "../store/db.ts";
import { type RunEnd, autoRunName, createRun, finishRun } from "../store/runs.ts";
import { type ProcessRecord, StoreWriter } from "../store/processes.ts";
import { type ChildEnd, NotRunnable, Supervisor } from "./supervisor.ts";
import { exactCwd } from "./own.ts";
import { sanitizeLines } from "../core/sanitize.ts";
import { mark } from "../core/timing.ts";
import { releaseStartupCode } from "../core/startup-code.ts";
import { dfgOnly } from "../core/jit-tier.ts";
import { leanTiers } from "../observe/tiers.ts";
import { Exit, TracerError } from "../errors.ts";

export interface TraceOptions {
  cmd: string[];
  name?: string;
  pipeline?: string;
  /** sampling interval, ms (default 1000) */
  intervalMs?: number;
  mode?: CaptureMode;
  /** netlink receive buffer to ask for (default 32 MiB); tiny values force loss (tests) */
  receiveBufferBytes?: number;
  dbPath?: string;
  /** init behaviour (src/run/supervisor.ts): --signal-group, --kill-leftovers, --pdeathsig */
  signalGroup?: boolean;
  killLeftoversAfterMs?: number;
  pdeathsig?: number;
  /**
   * The caller exits the process once traceRun has returned (the CLI): the signal pipe's reader is
   * then left to the exit (closing it costs Bun a thread-pool thread, ~0.2 ms of tracer run -- true).
   */
  exitAfter?: boolean;
}

export interface TraceResult {
  runId: string;
  name: string;
  mode: CaptureMode;
  child: ChildEnd;
  processes: number;
  /** the run's wall as stored (its start to its end, ms): what `runs` and `report` show */
  wallMs: number;
  /** processes of the tree still alive when the run ended (CMD gone, nobody waited for them) */
  running: number;
  lost: number;
  orphansReaped: number;
  skipped: string[];
  /**
   * whether the run's end could be written (false: the final write failed, as on a full disk; then
   * `stored` says whether the run's row exists at all, from its begin, or was never written)
   */
  finished: boolean;
  stored: boolean;
}

const FLUSH_MS = 500;
/**
 * The executable's start-up pages are dropped (src/core/startup-code.ts) at the first flush from the
 * RELEASE_AT_FLUSH-th (1 s in) at which tracer's RSS is above RELEASE_ABOVE_BYTES. The drop costs ~3.6
 * ms of CPU (its /proc/self/smaps read and the madvise; 5 pipeline runs, 2 Dec 2026) and mapping back
 * what recording still uses ~2 ms more: worth it only where RSS would otherwise pass the 64 MB bound
 * (issue 15). The 200-step pipeline stays at ~48 MiB and never drops them; `fan 100000` does (peak 58.5 MiB).
 */
const RELEASE_AT_FLUSH = 2;
const RELEASE_ABOVE_BYTES = 52 * 2 ** 20;
/**
 * How long after CMD's start its run row is written, the first host sample taken and the flush timer
 * set; CMD's events are recorded (in memory) meanwhile. A CMD that ends sooner gets them at its end.
 */
const BEGIN_DELAY_MS = 5;
/**
 * Netlink drain interval. Root gets its 32 MiB buffers (SO_RCVBUFFORCE, ~40k events): 100 ms is plenty.
 * Others are capped by net.core.rmem_max (~256 events by default): drain often.
 */
const drainMs = () => (process.getuid?.() === 0 ? 100 : 10);
/**
 * Root's drains come up to 500 ms apart while the host's events are few: at ~100 execs/s that took
 * tracer's CPU from 2.5 to 1.96 % of a core. 2,000 messages a drain at that pace (~1,300 processes a
 * second) leave its 64 MiB buffer (PACED_RCVBUF, ~160,000 messages) room for a surge 80× that rate
 * before the interval has shortened; beyond it, drains come closer in proportion, down to drainMs.
 */
const drainPace = (): Pace | undefined =>
  process.getuid?.() === 0 ? { slowMs: 500, batchEvents: 2000 } : undefined;
/**
 * Without the scheduler-runtime ledger a process's exit teardown is seen only by the drains: its last
 * taskstats record read while it tears down, its CPU clock then read at every drain until it is a
 * zombie (src/observe/_taskstats-probe.ts TeardownWatch). Paced, the drains came 100–500 ms apart and
 * a parent that reaps at once had mostly reaped it: 150 MiB 12.5–14 ms (15–18 %), 1 GiB 71–89 ms of
 * CPU short of wait4's rusage (an attack, 2 Dec 2026). Such a recording drains every 10 ms, events
 * or none (at 50 ms when none, a 150 MiB teardown after a quiet spell was still missed whole), and
 * every 2 ms while a teardown is watched (its CPU: more drains, ~0.2–0.3 ms each).
 */
const PRECISE_DRAIN_MS = 10;
/**
 * Paced, the sockets ask for 64 MiB (the kernel doubles it; taken only as messages queue): a burst of
 * the host's events right after a quiet stretch then has ~160,000 messages of room, 500 ms at 320,000
 * a second, where 32 MiB drained every 100 ms had 800,000 a second (a `prctl(PR_SET_NAME)` loop of
 * another user at 400,000 a second lost 82,000–93,000 events with 32 MiB paced, none unpaced).
 */
const PACED_RCVBUF = 64 << 20;
/**
 * The exec watcher's ring holds the argv it reads until a drain's lookups take it: 2 MiB by default,
 * sized for drains 100 ms apart. Paced drains come up to 5× further apart: 5× the ring, so that as
 * much argv a second fits (40 KB command lines at ~150 execs/s: 18–20 of 120 lost with 2 MiB). Its
 * pages are touched only as far as it fills.
 */
const EXEC_RING_BYTES = 10 << 20;
/**
 * How long CMD's spawn waits at most for the ledger's attach still under way (src/observe/schedrt.ts
 * awaitLedgerAttach): on a quiet host it took 1.6–2.1 ms and was done before the spawn was due; right
 * after another run it can wait for an RCU grace period (2 of 20 back-to-back runs waited 4.2 and
 * 5.8 ms; all 20 dd's in their first millisecond then exact). `tracer run -- true` 18.6 ms median of
 * 30 with it (the empty Bun program 5.2 ms the same run).
 */
const LEDGER_WAIT_MS = 20;

// (loops, not Array builtins: each builtin's first use costs `tracer run` ~0.03–0.15 ms, issue 15)
/** events lost by all the sources */
function lostEvents(sources: CaptureSource[]): number {
  let n = 0;
  for (const s of sources) n += s.stats().lost;
  return n;
}

function lossReasons(sources: CaptureSource[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of sources)
    for (const [k, n] of Object.entries(s.stats().lossReasons)) out[k] = (out[k] ?? 0) + n;
  return out;
}

export async function traceRun(o: TraceOptions): Promise<TraceResult> {
  // the ledger's programs attach on a thread of their own while the rest is set up (openTheLedger
  // takes the open over, or closes it when the capture mode does not use it)
  const ledgerWanted = o.mode !== "proc-poll" && process.env.TRACER_NO_SCHED_RUNTIME !== "1";
  if (ledgerWanted) preopenLedger(process.pid);
  // tracer leaves the caller's directory once CMD runs: every path it needs is resolved now
  const cwd = exactCwd();
  const db = openStore(o.dbPath);
  mark("store open");
  const runId = Bun.randomUUIDv7();
  const name = o.name || autoRunName(runId);
  const writer = new StoreWriter(db, runId);
  let watcher: ExecWatcher | undefined;
  let ledger: SchedRuntime | undefined;
  /** CMD's pid once it has exec'd: its peak-RSS baseline for the ledger (see withCmdBaseline) */
  let cmdPid: number | undefined;
  let sync = (_all?: boolean): boolean => true;
  // the run row is written once CMD runs (begin, below): until then a backlog waits for the timed flush
  let runRow = false;
  // called for every exec and every exit
  const execArgv = (pid: number, at: number, nearMs: number, after: number) =>
    watcher?.lookup(pid, at, nearMs, after);
  const ledgerOf = (pid: number, startedAt: number | undefined) => ledger?.take(pid, startedAt);
  const recorder = new Recorder(writer, process.pid, {
    execArgv,
    ledger: ledgerOf,
    threads: true,
    sync: (all) => sync(all),
    onBacklog: () =>
      safely(() => {
        if (runRow) recorder.writeNow();
      }),
  });
  mark("recorder");
  // recording must never take CMD down: an error while recording is reported once, then counted
  let recordingErrors = 0;
  const failed = (e: unknown) => {
    if (recordingErrors++ === 0)
      note(`tracer: recording error (CMD continues): ${sanitizeLines(String((e as Error)?.message ?? e))}`);
  };
  const safely = (f: () => void) => {
    try {
      f();
    } catch (e) {
      failed(e);
    }
  };
  // no closure a call: a source's handler runs for every event
  const guard = <T>(f: (x: T) => void) => {
    const guarded = (x: T) => {
      try {
        f(x);
      } catch (e) {
        failed(e);
      }
    };
    dfgOnly(guarded);
    return guarded;
  };
  // Events and exit records of processes outside the run's tree (the whole host's) are dropped before
  // any work once the exec watcher follows the tree: it knows every process forked before the drain
  // (it reads the forks queued first), and after a lost fork event it calls every process watched.
  // Until it runs, or without it, everything is read, as the recorder sorts it out itself.
  const inTree = () => {
    const watched = watcher?.watchedNow();
    return watched && ((tgid: number, ppid: number) => watched(tgid) || watched(ppid));
  };
  // The exec watcher first (it needs the proc connector, which a forced proc-poll leaves out): the
  // sources' first drains are then filtered already.
  // (its thread's start is waited for only right before CMD's spawn: the set-up below overlaps it)
  if (o.mode !== "proc-poll")
    watcher = ExecWatcher.start(process.pid, { deferReady: true, ringBytes: EXEC_RING_BYTES });
  mark("exec watcher");
  const pace = drainPace();
  const rcvbuf = o.receiveBufferBytes ?? (pace ? PACED_RCVBUF : undefined);
  const opened = await openSources(
    process.pid,
    (s) => {
      s.onEvent(guard(recorder.onEvent));
      s.onExitFigures?.(guard(recorder.onExitFigures));
    },
    {
      forced: o.mode,
      // the ACK comes within a few ms; in a pid namespace it never comes: fall back quickly
      // thread events too: a process ends with its last thread (the leader may exit first)
      connector: {
        receiveBufferBytes: rcvbuf,
        pollMs: drainMs(),
        pace,
        ackTimeoutMs: 250,
        threads: true,
        // the host's other processes' events are dropped natively (their sequence numbers still count)
        filter: (buf) => watcher?.compact(buf) ?? buf,
        // No LISTEN from each CPU for its sequence baseline: each moved tracer's thread to that CPU and
        // waited for it (0.6 ms here before CMD, at load), and sent in the run's begin instead it made
        // the scheduler-runtime ledger (opened there then) miss 2–4 ms of CPU of processes it entered
        // late (bench/accuracy.ts ONLY="parent exits": 2 of 5 runs vs 0 of 12). A CPU's first message
        // is its baseline: only a loss before any message of that CPU (an overrun of the 32 MiB buffer
        // that CPU had sent nothing to) is then counted from the kernel's ENOBUFS alone, not its gap.
        noBaselines: true,
      },
      taskstats: {
        receiveBufferBytes: rcvbuf,
        pollMs: drainMs(),
        filter: inTree,
        // the host's other exit records are dropped natively, before JavaScript reads them
        compact: (buf) => watcher?.compactTaskstats(buf) ?? buf,
      },
    },
  );
  mark("sources open");
  recorder.eventTimes = opened.mode.startsWith("connector");
  // the kernel queues a process's fork and exec reports before its parent learns of them: read them
  // before acting on what the supervisor saw, so every report finds its process
  sync = (all?: boolean) => syncSources(opened.sources, all);
  // argv of processes shorter than a drain interval, read the moment they exec (same kernel feature):
  // only with the connector (in a pid namespace the watcher's subscription sees nothing either)
  if (!opened.mode.startsWith("connector")) {
    watcher?.stop();
    watcher = undefined;
  }
  // What capture does not need before CMD starts (its run row, the first host sample, the flush
  // timer, the statements a flush runs) is done shortly after CMD has started, while tracer would
  // otherwise only wait for it; or, when CMD has ended by then or never starts, not at all: the run
  // row goes into the final transaction (one commit, not two), no flush needs preparing, and the
  // host is sampled at the end without a Sampler. Everything that can refuse the run (the store's
  // checks, the capture sources) was done above.
  const startedAt = Date.now();
  let endedAt = startedAt;
  // the run's end was written; the run's row was committed before the final write (at its begin)
  let finished = true;
  let rowBeforeEnd = false;
  let sampler: Sampler | undefined;
  let flusher: ReturnType<typeof setInterval> | undefined;
  let beginTimer: ReturnType<typeof setTimeout> | undefined;
  /** the run's row; with `end`, already finished (a run that never began: one INSERT) */
  const newRun = (end?: RunEnd) => {
    createRun(
      db,
      {
        id: runId,
        name,
        pipeline: o.pipeline || "default",
        command: o.cmd,
        cwd,
        host: hostname(),
        mode: opened.mode,
        recorderPid: process.pid,
        startedAt,
        captureSkipped: opened.skipped,
      },
      end,
    );
    runRow = true;
  };
  const openTheLedger = () => {
    // Every process's whole CPU time, summed in the kernel (root). It follows what is alive when it
    // opens (CMD entered with what it ran before) and every fork after. Its attach began at traceRun's
    // start (preopenLedger, on its own thread; CMD does not wait), so it is in place for CMD's first
    // processes unless the kernel made it wait for an RCU grace period (a run right after another): opened 5 ms after CMD, the processes that had
    // ended by then kept taskstats' runtime without their last slice — a `dd` in CMD's first
    // millisecond 0–250 µs against wait4's 1.0–1.3 ms (bench/accuracy.ts "small writes"); opened
    // before, 26 of 30 such dd's within µs of it (~1.2 ms more of `tracer run -- true`).
    // TRACER_NO_SCHED_RUNTIME=1 leaves it out: the figures are then those docs/CAPTURE.md gives without it.
    // no ledger after all: the drains at the precise pace (PRECISE_DRAIN_MS)
    const precise = () => {
      for (const s of opened.sources)
        if (s instanceof ConnectorSource) s.drainEvery(PRECISE_DRAIN_MS, PRECISE_DRAIN_MS);
    };
    if (!opened.mode.startsWith("connector")) {
      if (ledgerWanted) closeSchedRuntime();
    } else if (!ledgerWanted) precise();
    else
      safely(() => {
        ledger = openLedger(
          process.pid,
          () => {
            // the forks queued so far first: a process the recorder has not read yet would not be entered
            safely(() => sync());
            return withCmdBaseline(recorder.liveRecords(), cmdPid);
          },
          // the tree is followed in the kernel from here: other processes' execs stop at the kernel
          () => safely(() => watcher?.followLedger()),
          () => safely(precise),
        );
        if (!ledger) precise();
      });
    mark("ledger");
  };
  const begin = () => {
    if (sampler) return;
    // CMD outlived its first milliseconds: the recording's code stays out of the FTL tier (src/observe/tiers.ts)
    leanTiers();
    dfgOnly(execArgv, ledgerOf, safely);
    sampler = new Sampler(recorder, writer, o.intervalMs ?? 1000, cwd);
    sampler.start();
    // No wait for another writer's lock while CMD's first processes run (the thread blocks on it, and
    // with it the drains and the exec watcher's reader): a busy store gets the run row with the next
    // flush, which waits for the lock as every flush does.
    safely(() => unlessBusy(db, newRun));
    safely(() => writer.prepare());
    // a failed flush keeps its data for the next one
    let flushes = 0;
    let released = false;
    flusher = setInterval(
      guard(() => {
        if (!runRow) newRun();
        recorder.flush();
        if (++flushes >= RELEASE_AT_FLUSH && !released && process.memoryUsage.rss() > RELEASE_ABOVE_BYTES) {
          released = true;
          releaseStartupCode();
        }
      }),
      FLUSH_MS,
    );
    mark("run row");
  };
  const sup = new Supervisor({
    cmd: o.cmd,
    signalGroup: o.signalGroup,
    killLeftoversAfterMs: o.killLeftoversAfterMs,
    pdeathsig: o.pdeathsig,
    // CMD's first execs must find the exec watcher's thread running
    beforeSpawn: () => {
      watcher?.ready();
      if (ledgerWanted) awaitLedgerAttach(LEDGER_WAIT_MS);
      mark("before spawn");
    },
    onSpawn: (pid, at) => {
      // CMD has exec'd (vfork semantics): that exec brought tracer's peak RSS into its maxrss
      cmdPid = pid;
      safely(() => {
        sync();
        recorder.spawned(pid, at, { argv: o.cmd, cwd });
      });
      // not at once: a CMD as short as `true` has ended before this (issue 15: 20 ms start-up target)
      beginTimer = setTimeout(() => begin(), BEGIN_DELAY_MS);
    },
    onReaped: (reaps) =>
      safely(() => {
        sync();
        for (const { r, at } of reaps) recorder.onReaped(r, at);
      }),
    // at once, not after a --kill-leftovers grace: the recorder forgets an ended process's record
    // within seconds, and CMD's reap would then make a second row of it
    onCmdReaped: (end) =>
      safely(() => {
        sync();
        recorder.onReaped(end.reaped, end.endedAt, end.startedAt);
        mark("CMD recorded");
      }),
  });
  let child: ChildEnd | undefined;
  // the status tracer exits with when CMD cannot be started (127/126), or when tracer fails before it
  // could (its exit code), is the run's too
  let notRunnable: number | undefined;
  try {
    openTheLedger();
    child = await sup.run();
    mark("CMD reaped");
    // No wait here: the kernel queues a process's taskstats record before its parent can reap it, and
    // its connector exit event right after notifying the parent (do_exit: exit_notify, then
    // proc_exit_connector), so stop() below, which drains both sockets, sees every exit of the tree;
    // a process reaped before its exit event is read ends at its reap (Recorder.settle).
  } catch (e) {
    notRunnable = e instanceof NotRunnable ? e.status : e instanceof TracerError ? e.exitCode : Exit.error;
    throw e;
  } finally {
    clearTimeout(beginTimer);
    // The host's metrics are extra: a failed read never stops a recording (as in the Sampler). A run
    // that never began (CMD ended within BEGIN_DELAY_MS) gets its two points as the Sampler would
    // have written them, at its start and at its end (the HTML report draws a short run's metrics from
    // two points), both from one reading taken now: its start was at most a few ms ago.
    if (sampler) sampler.stop();
    else
      try {
        // one reading, no baseline (two readings this close apart fall within one clock tick): the
        // host's CPU % is unknown, stored as null
        const now = new SystemSampler(cwd, false).read();
        writer.system({ ...now, at: Math.min(startedAt, now.at) });
        writer.system(now);
      } catch {}
    mark("host sampled");
    clearInterval(flusher);
    await stopSources(opened.sources);
    mark("sources stopped");
    // every event is read: the exec watcher's thread ends on another CPU while the run is written
    // (what it has read still answers the final flush's lookups)
    watcher?.stopSoon();
    const lost = lostEvents(opened.sources);
    endedAt = Date.now();
    try {
      const end: RunEnd = {
        endedAt,
        exitCode: child ? child.exitCode : (notRunnable ?? 127),
        signal: child?.signal,
        ...(child?.stopSignal ? { stopSignal: child.stopSignal } : {}),
        eventsLost: lost,
        lossReasons: lossReasons(opened.sources),
        recovered: 0,
        argvLost: 0,
        mode: opened.mode,
      };
      rowBeforeEnd = runRow;
      // the last processes and the run's end in one transaction: one commit (the final flush runs in it)
      inTransaction(db, () => {
        // the run's row first (the processes' rows refer to it), then its end with the recorder's
        // final counts: in that one row when it is written only now
        const early = runRow;
        if (!early) newRun(end);
        mark("run row written");
        recorder.flush(true);
        mark("processes written");
        const counts = { recovered: recorder.recovered, argvLost: recorder.stats().argvLost };
        if (early || counts.recovered || counts.argvLost) finishRun(db, runId, { ...end, ...counts });
      });
      mark("flushed");
      db.close();
      mark("db closed");
    } catch (e) {
      // CMD's status still decides tracer's exit status
      finished = false;
      note(sanitizeLines(`tracer: could not finish recording run ${name}: ${(e as Error).message}`));
    }
    watcher?.stop();
    mark("watcher stopped");
    ledger?.close();
    sup.dispose(o.exitAfter === true && child !== undefined);
    mark("disposed");
  }
  return {
    runId,
    name,
    mode: opened.mode,
    child: child!,
    processes: recorder.stats().processes,
    wallMs: endedAt - startedAt,
    // alive when the run ended (CMD gone, they were not waited for): leftovers
    running: recorder.held().live,
    lost: lostEvents(opened.sources),
    orphansReaped: sup.orphansReaped,
    skipped: opened.skipped,
    finished,
    // the row from the run's begin is committed; one written with the run's end went with that write
    stored: finished || rowBeforeEnd,
  };
}

/**
 * The live records for the ledger's late entries, CMD's with its peak-RSS baseline: CMD starts with
 * vfork semantics, so its first exec folded the peak of tracer's memory into its maxrss; a later exec
 * above that shows the peak of an image of CMD's own (a wrapper that execs its tool: `exec java …`).
 */
function* withCmdBaseline(
  records: Iterable<ProcessRecord>,
  cmdPid: number | undefined,
): Iterable<{ pid: number; startedAt?: number; startTicks?: number; maxRssBaselineKb?: number }> {
  for (const r of records)
    if (r.pid === cmdPid && r.parent === undefined) {
      const kb = tracerPeakBoundKb();
      yield { pid: r.pid, startedAt: r.startedAt, startTicks: r.startTicks, maxRssBaselineKb: kb };
    } else yield r;
}

/**
 * At least the peak RSS of tracer's memory at any time so far (KiB), or undefined. Not getrusage: its
 * ru_maxrss also holds the peak of the image tracer's own exec replaced (a test runner's hundreds of
 * MB, when it started tracer with vfork semantics). VmHWM is this memory's own, from exact counters;
 * the peak an exec folds comes from the per-CPU approximations, which may lag by a batch of
 * max(32, 2·CPUs) pages on each CPU: that much is added.
 */
function tracerPeakBoundKb(): number | undefined {
  const hwm = readStatus(process.pid)?.vmHwmKb;
  if (!hwm) return undefined;
  const cpus = navigator.hardwareConcurrency || 1;
  return hwm + Math.max(32, 2 * cpus) * cpus * 4;
}
