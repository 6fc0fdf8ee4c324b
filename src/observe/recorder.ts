/**
 * The recorder: turns capture events, exact exit figures (taskstats), wait4 results and live samples
 * into exactly one process record per (pid, start) of a run's tree, written through a StoreWriter,
 * whatever order the sources report in.
 * Scope: descendants of `rootPid` (the supervisor). Times: start = the fork event, end = the exit
 * event of the process's last thread (sent after its address space is torn down), duration = end −
 * start. Figures: see ./_figures.ts. The first known exit status wins.
 * Memory: live processes, ended ones for SETTLE_MS (late figures and reaps), then a compact stub
 * (pid → start ticks, end, row id) for FORGET_MS, for late forks of their children.
 */
import { basename } from "../core/path.ts";
import { processCpuNs, type Reaped } from "../../ffi/libc.ts";
import type { ProcessRecord, StoreWriter } from "../store/index.ts";
import {
  adjustCputime,
  copyRusage,
  copyTaskstats,
  isIncarnation,
  raiseCpu,
  raiseIo,
  sameProcess,
} from "./_figures.ts";
import { dfgOnly } from "../core/jit-tier.ts";
import { epochMsToTicks, startHoldsFork, ticksToEpochMs } from "./clock.ts";
import { type ExecArgv, SAME_EXEC_SLACK_MS } from "./execwatch.ts";
import { ArgvLoss, argvOf, capArgv } from "./argv.ts";
import { OomWatch } from "./oom.ts";
import { fullCollector } from "../core/young.ts";
import { parentOf, type Scope, SETTLE_MS, type Status, statusOf, type Track, Tracks } from "./_tracks.ts";
import { readCgroup, readCmdline, readCwd, readOwnIo, readStat, treeBelow } from "./procfs.ts";
import type { CaptureEvent, ExitFigures } from "./types.ts";
import type { SchedRuntime } from "./schedrt.ts";

/**
 * The exec watcher's read of an exec that followed this event's (an exec, or the fork) is later than
 * this (epoch ms): the process's last exec event, or its exact fork; -Infinity when neither is known.
 * An exec's read comes after the exec before it had returned (its record is stamped at the new exec's
 * sched_process_exec, or by the thread with the new exec's own event time), so a read stamped no later
 * than the last exec event (allowing for the conversions of one kernel clock: SAME_EXEC_SLACK_MS) is of
 * that exec or one before it. Without this bound an exec chain (`sh -c 'exec env T …'`) whose last read
 * was late (a full ring: the thread reads /proc after the event) was recorded with sh's or env's
 * command line (a newcomer's attack: 16–46 of 400 processes).
 */
function readAfter(t: Track, exact: boolean): number {
  const rec = t.rec;
  if (rec.execAt !== undefined) return rec.execAt + SAME_EXEC_SLACK_MS;
  return exact && !t.approxStart && rec.startedAt !== undefined ? rec.startedAt : Number.NEGATIVE_INFINITY;
}

/** The process ended at `at` (epoch ms): its end, and its duration when its start is known. */
function setEnd(rec: ProcessRecord, at: number) {
  rec.endedAt = at;
  if (rec.startedAt !== undefined) rec.durationUs = Math.max(0, at - rec.startedAt) * 1000;
}

/** a track whose record is the process these exit figures are about (Tracks.takeAwaiting) */
const sameRecord = (x: Track, f: ExitFigures) => sameProcess(x.rec, f);
/** how far before an exec event the watcher's read of it may be stamped when nothing bounds it (no
 * earlier exec, an estimated start): the kernel's reader stamps it at sched_process_exec, µs before */
const SAME_EXEC_MS = 3;
/**
 * How long an exec can show its new image in /proc before its event is sent, ms: the new address space
 * is in place (exec_mmap) before the ELF is loaded and the event sent; µs normally, 1 ms allowed (a
 * tracer's stop at the exec holds it longer: a read in that stop is no earlier image's). A /proc read of
 * the image before must be this much older than the next exec's event to be its own.
 */
const READ_MARGIN_MS = 1;
/**
 * How close to a late entry into the ledger an exec event's time may be and still have come before it,
 * ms: the entry's time is read (Date.now) right after it, an exec's from its event's monotonic stamp
 */
const ENTRY_SLACK_MS = 1;

/**
 * By when the exec watcher's read of an exec was made, for the next exec's test of it (onExec): the
 * kernel's read (no readAt) was made in the exec itself; the thread's read of /proc at readAt shows
 * whatever image was in place then (a later one when the thread ran late), so it counts from readAt
 * plus the margin above.
 */
function readBy(seen: ExecArgv): number {
  return seen.readAt === undefined ? seen.at : seen.readAt + READ_MARGIN_MS;
}

/** exit figures waiting for their process (Recorder.pendingFigures), with the next of the same pid */
interface PendingFigures {
  f: ExitFigures;
  /** epoch ms they arrived */
  at: number;
  next?: PendingFigures;
}

export interface RecorderStats {
  processes: number;
  lost: number;
  lossReasons: Record<string, number>;
  /** processes that exec'd but are recorded without argv (./argv.ts) */
  argvLost: number;
}

export interface RecorderOptions {
  /**
   * Daemon mode: a process outside the tree that execs a command this accepts becomes a top-level
   * process of the run (its descendants follow).
   */
  adopt?: (argv: string[], comm: string | undefined) => boolean;
  /**
   * Daemon mode, a cheap test before `adopt`: false when the process that exec'd at `at` cannot be
   * adopted nor be below an adopted one (the exec watcher's name filter, ./execwatch.ts); such an
   * exec costs no /proc read.
   */
  mayAdopt?: (pid: number, at: number) => boolean;
  /**
   * What a process's exec at `at` (epoch ms) ran, read the moment it happened (the exec watcher,
   * ./execwatch.ts): of the execs it remembers for the pid stamped later than `after` (readAfter), the
   * nearest that time within `nearMs`, else the latest. Used instead of /proc when it is that very exec
   * (or a later one of the process), and when /proc no longer holds the process.
   */
  execArgv?: (pid: number, at: number, nearMs: number, after: number) => ExecArgv | undefined;
  /** the sources report thread fork/exit (connector `threads`): a process then ends with its last thread */
  threads?: boolean;
  /**
   * Deliver what the sources have queued now (CaptureSource.sync). Called before reports that found
   * no process are settled as lost: a stalled event loop must not make a late fork look lost.
   */
  sync?: (all?: boolean) => boolean;
  /**
   * Called from an event when BACKLOG processes have ended since the last write and as many wait in
   * memory: an owner whose store is ready calls writeNow(). Without it they wait for the next flush.
   */
  onBacklog?: () => void;
  /**
   * A process's whole runtime (ns) from the scheduler-runtime ledger (./schedrt.ts), asked once as it
   * ends: exact whoever reaps it, where the zombie's CPU clock is read only if tracer wins the race;
   * the peak RSS (KiB) of the images its execs replaced, which no exit record holds; and its threads'
   * I/O summed as each exited (bytes), exact where taskstats rounds each thread down to a whole KiB.
   */
  ledger?: (pid: number, startedAt: number | undefined) => ReturnType<SchedRuntime["take"]>;
  /** Each process as it is first recorded (daemon mode: the ledger follows adopted trees from here). */
  onIdentified?: (rec: ProcessRecord) => void;
}

/**
 * Ended processes wait in memory until a flush writes them and reduces them to stubs. Flushes are
 * timed, and a timer is late when the event loop falls behind: at 7,000 processes a second on 2 busy
 * cores it fired up to 1.7 s late, 10,000–15,000 ended processes piled up and the recorder's heap
 * doubled (peak RSS 90–129 MB over 8 runs of a 100,000-link chain; 84–100 MB in 14 of 15 with this
 * bound). A write leaves those still waiting for their figures, so up to about twice BACKLOG are held
 * before the next one (3,947 measured on that chain). The owner's onBacklog must not throw: finish()'s
 * caller may have more to do.
 */
const BACKLOG = 2000;

export class Recorder {
  private readonly tracks: Tracks;
  private readonly live: Map<number, Track>;
  private readonly ended: Map<number, Track>;
  /** processes recorded so far */
  private count = 0;
  /** processes ended since the last write (BACKLOG) */
  private endedSinceWrite = 0;
  private oom = new OomWatch();
  /** ended processes (and exit figures of any process) die old: collected as they pile up (src/core/young.ts) */
  private readonly collect = fullCollector();
  private argvLoss = new ArgvLoss();
  private lost = 0;
  private lossReasons: Record<string, number> = {};
  /**
   * Exit figures whose process is not known yet, by pid, oldest first (`next`): records come in exit
   * order, and a pid given on purpose to a new process once the old one was reaped (clone3 set_tid)
   * has both waiting when their forks are read late; one kept per pid gave the first process the
   * second's CPU, and the second none (found by an attack, 2 Dec 2026).
   */
  private pendingFigures = new Map<number, PendingFigures>();
  private pendingReaped = new Map<number, { r: Reaped; at: number; wall: number }>();
  /** processes known only from their taskstats figures or a reap (their events were lost) */
  recovered = 0;
  /**
   * Event times are kernel timestamps (connector): a process's end is its exit event. Off (proc-poll),
   * the supervisor's fork → reap times for CMD are closer than a poll's.
   */
  eventTimes = true;

  constructor(
    private readonly writer: StoreWriter,
    readonly rootPid: number,
    private readonly opts: RecorderOptions = {},
  ) {
    this.tracks = new Tracks(rootPid);
    this.live = this.tracks.live;
    this.ended = this.tracks.ended;
    // per-instance functions, out of the FTL tier as the prototype's are (src/observe/tiers.ts)
    dfgOnly(this.onEvent, this.idOf, this.collect);
  }

  /** a record's store row id, for Tracks.compact */
  private readonly idOf = (rec: ProcessRecord) => this.writer.ids.get(rec);

  /** Live records, for the sampler (not tracer's own forks that have yet to exec). */
  liveRecords(): ProcessRecord[] {
    const out: ProcessRecord[] = [];
    for (const t of this.live.values()) if (!t.unexeced) out.push(t.rec);
    return out;
  }
  stats(): RecorderStats {
    return {
      processes: this.count,
      lost: this.lost,
      lossReasons: { ...this.lossReasons },
      argvLost: this.argvLoss.count,
    };
  }
  /** Processes held in memory: live, recently ended, and stubs (for memory tests). */
  held(): { live: number; ended: number; stubs: number } {
    return this.tracks.held();
  }

  onEvent = (e: CaptureEvent): void => {
    switch (e.type) {
      case "fork":
        if (e.pid !== e.tgid) this.onThread(e.tgid, 1);
        else this.onFork(e.tgid, e.ptgid, e.at);
        return;
      case "exec":
        if (e.pid !== e.tgid) return;
        this.onExec(e.tgid, e.at);
        return;
      case "exit":
        if (e.pid !== e.tgid) this.onThread(e.tgid, -1, e.at, statusOf(e), e.parentTgid);
        else this.onExit(e.tgid, e.at, statusOf(e), e.parentTgid);
        return;
      case "loss":
        this.lost += e.count;
        this.lossReasons[e.reason] = (this.lossReasons[e.reason] ?? 0) + e.count;
        this.rescan(e.at);
        return;
    }
  };

  /** `notified`: the parent an exit event names (the one the kernel notified: it bounds the end, finish) */
  private onThread(tgid: number, delta: 1 | -1, at?: number, status?: Status, notified?: number) {
    const t = this.live.get(tgid);
    if (!t) return;
    if (notified !== undefined) t.notified = notified;
    t.threads = Math.max(0, t.threads + delta);
    if (delta < 0) t.lastThreadExitAt = at;
    // the last thread of a process whose leader exited first: the process ends now, with wait4's status:
    // the group's (exit_group or a fatal signal: every thread then exits with it), else the leader's own.
    // A thread that ended on its own exits 0, and its exit event can come after the leader's even where
    // the leader went last: each event is sent at the end of its thread's teardown, and a thread's
    // pthread_join returns at its start (`_exit(3)` after joining 8 threads was recorded 0: an attack,
    // 2 Dec 2026). A status of 0 the group's own is the leader's as well, but for a leader that left
    // first with a code of its own (exit(2) of the thread alone, not pthread_exit).
    if (delta < 0 && t.leaderExit && t.threads === 0)
      this.finish(t, at!, status?.signal !== undefined || status?.exitCode ? status : t.leaderExit.status);
  }

  private onFork(pid: number, ppid: number, at: number) {
    if (!this.tracks.scope(ppid, at)) return;
    const cur = this.live.get(pid);
    if (cur) {
      const st = readStat(pid);
      const same = !st || st.startTicks === cur.rec.startTicks;
      // a process first known from the supervisor or a rescan: its fork event gives the exact start
      if (same && cur.approxStart && this.eventTimes) {
        cur.approxStart = false;
        cur.rec.startedAt = at;
        this.write(cur);
      }
      // no exit seen: the same process (a pid is reused only after an exit, lost or not)
      if (same) return;
      this.finish(cur, at); // its exit was lost: it ended before this new process could take its pid
    }
    this.identify(pid, ppid, at, true);
  }

  /**
   * Daemon mode: the exec watcher's read of this very exec of `pid` (at `at`), when it made one. An
   * earlier exec's read (of this process, or of one that had the pid before it: clone3 set_tid, found
   * by an attack, 2 Dec 2026) is no answer: it would lend this process another image's argv, parent
   * and start, and that one's row.
   */
  private execRead(pid: number, at: number): ExecArgv | undefined {
    if (!this.opts.adopt) return undefined;
    const seen = this.opts.execArgv?.(pid, at, SAME_EXEC_MS, Number.NEGATIVE_INFINITY);
    return seen && Math.abs(seen.at - at) <= SAME_EXEC_SLACK_MS && seen.argv.length ? seen : undefined;
  }

  /**
   * Daemon mode: whether a rule adopts what the watcher read of an exec. The process is gone before
   * the drain that reads its exec (a short tool whose parent no rule matches: its fork was not
   * followed), or a zombie whose command line /proc no longer shows: its parent's pid (the fork's,
   * where the thread saw it) and start ticks are what the thread read right after argv; its start time
   * is the exec's (approximate: the fork was not seen); its end, status and figures come as for any
   * other. /proc alone lost 37-39 of 40 such 6 ms processes, and every zombie (found 2 Dec 2026).
   */
  private adoptsRead(read: ExecArgv | undefined): boolean {
    return read !== undefined && this.opts.adopt!(read.argv, basename(read.argv[0]!).slice(0, 15));
  }

  /**
   * A new process in the tree: read its identity now, before it can vanish. `fork`: `at` is its
   * fork event's time (exact with the connector). Start ticks come from /proc when it still shows this
   * process, else from `at`. `known`: what the exec watcher read of it (its start ticks, undefined when
   * it was gone by then): /proc is taken for it only where it shows those start ticks.
   */
  private identify(
    pid: number,
    ppid: number | undefined,
    at: number,
    fork: boolean,
    known?: { startTicks?: number },
  ): Track {
    // a poll's "fork" is when the poll saw it: /proc's start ticks are closer
    const exact = fork && this.eventTimes;
    // the pid's CPU clock first: a failed clock_gettime is cheaper than a failed /proc open (path,
    // lookup), and the process a drain reads the fork of is mostly reaped already (fan: every one)
    const st =
      (known && known.startTicks === undefined) || processCpuNs(pid) === undefined
        ? undefined
        : readStat(pid);
    const estimate = epochMsToTicks(at);
    const mine =
      st &&
      (!exact || startHoldsFork(st.startTicks, at)) &&
      (known === undefined || st.startTicks === known.startTicks)
        ? st
        : undefined;
    const scope = ppid === undefined ? undefined : this.tracks.scope(ppid, at);
    const { parent, parentId } = scope ? parentOf(scope) : {};
    // a fresh fork shares its parent's argv, cwd and cgroup: read them only when there is no parent
    // record (CMD, or a process adopted after a loss); exec reads them again anyway
    const rec: ProcessRecord = {
      pid,
      startTicks: mine?.startTicks ?? known?.startTicks ?? estimate,
      ppid,
      parent,
      parentId,
      comm: mine?.comm ?? parent?.comm,
      // (/proc read only while it shows this process: a pid that is another's now is not its)
      ...(parent?.argv ? argvOf(parent) : capArgv(mine ? readCmdline(pid) : undefined)),
      cwd: parent?.cwd ?? (mine ? readCwd(pid) : undefined),
      cgroup: parent?.cgroup ?? (mine ? readCgroup(pid) : undefined),
      // the connector's fork time is exact; start ticks have 10 ms steps. Adopted on the exec
      // watcher's read (gone by the drain): the start ticks that read proved, not the exec's time — a
      // tool exec'd more than 2 s after its fork then lost its taskstats figures (their start, to the
      // second, must lie within 2 s of the record's: ./_figures.ts sameProcess) and its fork → exec
      // part of the duration
      startedAt: exact
        ? at
        : mine
          ? ticksToEpochMs(mine.startTicks)
          : known?.startTicks !== undefined
            ? Math.min(at, ticksToEpochMs(known.startTicks))
            : at,
    };
    const t: Track = {
      rec,
      // threads already running when we first see it (after a loss, or adopted); a fork has none
      threads: !exact && this.opts.threads && mine ? Math.max(0, mine.numThreads - 1) : 0,
      // only a fork event can show a fork of tracer that has not exec'd (a rescan finds orphans)
      unexeced: fork && scope === "root",
      approxStart: !exact,
      figuresDone: false,
      // reaped already (most short processes by the time a drain reads their fork), its pid free or
      // another process's (start ticks not its own): no /proc reads
      gone: mine === undefined,
    };
    this.oom.watch(rec.cgroup);
    this.tracks.start(t);
    this.write(t);
    this.opts.onIdentified?.(rec);
    // the oldest waiting figures of its pid that can be its own
    let prev: PendingFigures | undefined;
    for (let p = this.pendingFigures.get(pid); p; prev = p, p = p.next) {
      if (!sameProcess(rec, p.f)) continue;
      if (prev) prev.next = p.next;
      else if (p.next) this.pendingFigures.set(pid, p.next);
      else this.pendingFigures.delete(pid);
      this.applyFigures(t, p.f);
      break;
    }
    const reaped = this.pendingReaped.get(pid);
    if (reaped && isIncarnation(rec, reaped.r)) {
      this.pendingReaped.delete(pid);
      t.reaped = reaped;
    }
    return t;
  }

  /** Write a record (tracer's own forks only once they exec CMD's image). */
  private write(t: Track) {
    if (t.unexeced) return;
    if (!t.counted) {
      t.counted = true;
      this.count++;
    }
    this.writer.process(t.rec);
  }

  private onExec(pid: number, at: number) {
    let t = this.live.get(pid);
    if (!t) {
      // missed the fork (loss, or a source that only reports execs): adopt it if its parent is ours,
      // or (daemon mode) if what it runs is something we were asked to record
      if (this.opts.mayAdopt && !this.opts.mayAdopt(pid, at)) return;
      const st = readStat(pid);
      const read = this.execRead(pid, at);
      // adopted on the watcher's read: gone, or a zombie (its parent has not reaped it yet) whose
      // command line /proc no longer shows
      let fromRead = !st;
      if (st && !this.tracks.scope(st.ppid)) {
        const argv = this.opts.adopt ? readCmdline(pid) : undefined;
        if (argv?.length) {
          if (!this.opts.adopt?.(argv, st.comm)) return;
        } else fromRead = true;
      }
      if (fromRead && !this.adoptsRead(read)) return;
      // the watcher's parent is the fork's where it saw it: /proc's is a reaper's once that parent died.
      // Adopted on the read, /proc is this process's only where it shows the read's start ticks (a
      // zombie there can be another process given the pid since: found by an attack, 2 Dec 2026).
      t = this.identify(
        pid,
        read?.ppid ?? st?.ppid,
        at,
        false,
        fromRead ? { startTicks: read!.startTicks } : undefined,
      );
    }
    // it runs an image of its own now: one thread, and (a fork of tracer) CMD's image; a child it forked
    // before this exec was the earlier program's (steps place it so: src/steps/_columns.ts). Only an
    // exact time can be compared with its children's forks. The first image it exec'd itself (an exec
    // seen before: not its parent's copy from the fork) keeps its command line as the prior one: a
    // job's shell that exec'd `env … touch` is still found by it. Only that image's own command line:
    // when its read was lost and a later exec's answered it, or /proc was read after this exec, the
    // prior one stays unknown (it was a later image's: `selfexec 19` for a chain's `selfexec 20`).
    // The real event of an exec spawned() stood in for is that exec, not a second one.
    const rec = t.rec;
    if (t.execStandIn) t.execStandIn = false;
    else if (!t.priorSettled && rec.execAt !== undefined) {
      t.priorSettled = true;
      if (rec.argv?.length && !(this.eventTimes && (t.argvReadBy ?? 0) >= at - SAME_EXEC_SLACK_MS)) {
        rec.priorArgv = rec.argv;
        if (rec.argvTruncated) rec.priorArgvBytes = rec.argvBytes;
      }
    }
    t.argvReadBy = undefined;
    const after = readAfter(t, this.eventTimes);
    if (this.eventTimes) rec.execAt = at;
    t.unexeced = false;
    t.threads = 0;
    t.leaderExit = undefined;
    this.write(t);
    if (t.heldFigures) this.applyFigures(t, t.heldFigures);
    t.heldFigures = undefined;
    // The exec watcher read this exec: no /proc reads needed. The thread's read carries the event's own
    // time, the kernel's the time of sched_process_exec, before it (ExecWatcher.lookup). A read of an
    // earlier image of this process, or of an earlier process with its pid, is no answer (`after`);
    // nor is a later exec's (stamped after this event): it may be another process's, given the pid on
    // purpose once this one was reaped (clone3 set_tid; found by an attack, 2 Dec 2026: a process
    // recorded with the next one's argv). /proc then, whose reads are proven by the start time.
    const seen = this.opts.execArgv?.(pid, at, SAME_EXEC_MS, after);
    if (seen && seen.at <= at + SAME_EXEC_SLACK_MS) {
      t.argvReadBy = readBy(seen);
      return this.execSeen(t, seen);
    }
    // /proc as it is now: read first, then proven this process's own by a stat after the reads (a pid
    // is reused only after a reap, so the same start time means the same process all along). Without
    // that proof another process given the pid at once (set_tid, ns_last_pid) had its argv recorded
    // for this one (found by an attack, 1 Dec 2026). The kernel's comm from taskstats wins.
    let argv = t.gone ? undefined : readCmdline(pid);
    // Date.now() is whole ms: the read was before its next ms
    t.argvReadBy = Date.now() + 1 + READ_MARGIN_MS;
    const cwd = argv === undefined ? undefined : readCwd(pid);
    const st = argv === undefined ? undefined : readStat(pid);
    if (st?.startTicks !== rec.startTicks) argv = undefined;
    // stopped by its tracer at an exec (PTRACE_EVENT_EXEC comes before the exec's event is sent): /proc
    // shows the new image for as long as the tracer holds it, so the read is no earlier image's
    if (st?.state === "t") t.argvReadBy = Number.POSITIVE_INFINITY;
    if (argv === undefined || st === undefined) {
      // already reaped, or its pid another process's by now: nothing more to read
      Object.assign(rec, capArgv(undefined));
      rec.comm = undefined;
      this.argvLoss.settle(rec);
      this.writer.process(rec);
      return;
    }
    if (argv.length) {
      Object.assign(rec, capArgv(argv));
      rec.comm = basename(argv[0]!).slice(0, 15);
    } else {
      Object.assign(rec, capArgv(undefined));
      rec.comm = st.comm;
    }
    rec.cwd = cwd ?? rec.cwd;
    this.execDone(t);
  }

  private execSeen(t: Track, seen: ExecArgv) {
    const rec = t.rec;
    rec.argv = seen.argv;
    rec.argvBytes = seen.argvBytes;
    rec.argvTruncated = seen.argvTruncated;
    rec.comm = basename(seen.argv[0]!).slice(0, 15);
    // read at the exec, or unknown (longer than 4,096 bytes, unreachable from tracer's root, or the
    // process gone before the thread's readlink): never the parent's, which a chdir before the exec
    // (`cd DIR && CMD`) made stale
    rec.cwd = seen.cwd;
    this.execDone(t);
  }

  /** The end of every exec: its cgroup (watched for OOM kills), then the write. */
  private execDone(t: Track) {
    const rec = t.rec;
    this.argvLoss.settle(rec);
    // most execs stay in their parent's cgroup: keep the parent's string, let the fresh read die young
    const cgroup = t.gone ? undefined : readCgroup(rec.pid);
    if (cgroup !== undefined && cgroup !== rec.cgroup) rec.cgroup = cgroup;
    this.oom.watch(rec.cgroup);
    this.writer.process(rec);
  }

  private onExit(pid: number, at: number, status: Status, notified?: number) {
    const t = this.live.get(pid);
    if (!t) {
      // a late report about a process already ended (its status may still be missing)
      const old = this.ended.get(pid);
      if (old) this.setStatus(old, status);
      return;
    }
    if (notified !== undefined) t.notified = notified;
    // the leader thread left others running (pthread_exit in main): the process ends with the last
    if (t.threads > 0) {
      t.leaderExit = { at, status };
      return;
    }
    this.finish(t, at, status);
  }

  /** The process has ended at `at` (epoch ms): its end, duration, status; the zombie's exact I/O. */
  private finish(t: Track, at: number, status?: Status) {
    const pid = t.rec.pid;
    this.tracks.end(t);
    // a fork of tracer that never ran CMD's image (Bun.spawn failing): tracer's own, not recorded
    if (t.unexeced) return;
    const rec = t.rec;
    // The connector stamps an exit after the kernel has notified the parent (proc_exit_connector follows
    // exit_notify in do_exit): a child preempted between the two can be stamped after its parent has
    // reaped it and exited (a `samtools sort` under `time` ended 7.3 ms after the `time`: newcomer). The
    // parent it notified, when it is the recorded parent and has ended, bounds its end.
    const parent = rec.parent;
    if (
      parent !== undefined &&
      t.notified === parent.pid &&
      parent.endedAt !== undefined &&
      at > parent.endedAt &&
      (rec.startedAt === undefined || parent.endedAt >= rec.startedAt)
    )
      at = parent.endedAt;
    setEnd(rec, at);
    this.setStatus(
      t,
      status?.exitCode !== undefined || status?.signal !== undefined ? status : t.leaderExit?.status,
    );
    // still a zombie (its parent has not reaped it yet): its main thread's I/O counters are final and
    // exact for a single-threaded process (taskstats rounds them down; /proc/PID/io would add the
    // children it reaped) and its CPU clock the exact runtime, teardown included (the
    // taskstats record is sent before exit_mm). Read first, then proven its own: the process existed
    // before its exit event, and a stat after the reads that still shows it means the pid was its
    // own all along (a pid is reused only after a reap).
    const cpuNs = t.gone ? undefined : processCpuNs(pid);
    const io = cpuNs === undefined ? undefined : readOwnIo(pid);
    const st = cpuNs === undefined ? undefined : readStat(pid);
    if (st?.state === "Z" && st.startTicks === rec.startTicks) this.zombieSeen(t, cpuNs, io);
    const ledger = this.opts.ledger?.(pid, rec.startedAt);
    // when its exit notified its parent, to the ns: the connector stamps the exit after waking the
    // parent, late by however long that parent ran first on its CPU (the clamp above covers only a
    // parent that has ended)
    const exitedAt = ledger?.exitedAt;
    if (exitedAt !== undefined && exitedAt < at && (rec.startedAt === undefined || exitedAt >= rec.startedAt))
      setEnd(rec, exitedAt);
    // every thread's I/O summed at its exit: exact where the zombie read covers the main thread only;
    // and the tick samples its runtime is split by, teardown included
    if (ledger?.exitTicks) t.exitTicks = ledger.exitTicks;
    if (ledger) this.zombieSeen(t, ledger.runtimeNs, ledger.io);
    // what its earlier images ran, where the exec's time is known too (a step may start there)
    if (ledger?.execRuntimeNs !== undefined && rec.execAt !== undefined)
      rec.execCpuUs = ledger.execRuntimeNs / 1000;
    const bound = this.execPeakBound(t, ledger);
    if (bound !== undefined) rec.execPeakRssKb = bound;
    // an image an exec replaced can have peaked above the last one (taskstats' hiwater_rss)
    if (ledger?.maxRssKb) rec.peakRssKb = Math.max(rec.peakRssKb ?? 0, ledger.maxRssKb);
    if (t.reaped) this.applyReaped(t, t.reaped.r);
    this.write(t);
    this.collect(garbageWeight(rec));
    // counted since the last write too: while the ended wait for figures, not a write per process
    if (++this.endedSinceWrite >= BACKLOG && this.ended.size >= BACKLOG) {
      this.endedSinceWrite = 0;
      this.opts.onBacklog?.();
    }
  }

  /**
   * Write what is pending and reduce the ended processes that are complete to stubs, now: for
   * onBacklog. Late reports are settled by the next flush as ever. Throws as StoreWriter.flush does.
   */
  writeNow(): void {
    this.endedSinceWrite = 0;
    this.writer.flush();
    this.tracks.compact(this.idOf, false);
  }

  private setStatus(t: Track, s: Status | undefined) {
    const rec = t.rec;
    if (rec.exitCode !== undefined || rec.signal !== undefined) return;
    if (s?.exitCode === undefined && s?.signal === undefined) return;
    rec.exitCode = s.exitCode;
    rec.signal = s.signal;
    rec.coreDumped = s.coreDumped;
    const oom = this.oom.verdict(rec, s.signal);
    rec.oomKilled = oom.oomKilled;
    rec.oomLimitKb = oom.limitKb;
    this.write(t);
  }

  /** Exact final figures from taskstats (they may come before or after the exit event). */
  onExitFigures = (f: ExitFigures): void => {
    // every exit on the host comes here (held as pending figures until settled): counted too
    this.collect();
    const t = this.tracks.takeAwaiting(f.tgid, sameRecord, f);
    // the two netlink sockets are drained separately: the fork may not have been read yet
    if (t) {
      this.applyFigures(t, f);
      return;
    }
    const waiting: PendingFigures = { f, at: Date.now() };
    let last = this.pendingFigures.get(f.tgid);
    if (!last) this.pendingFigures.set(f.tgid, waiting);
    else {
      while (last.next) last = last.next;
      last.next = waiting;
    }
  };

  private applyFigures(t: Track, f: ExitFigures) {
    t.figuresDone = true;
    t.exitPpid = f.ppid;
    // tracer's own fork: kept for the exec (then they are CMD's), dropped if it never comes
    if (t.unexeced) {
      t.heldFigures = f;
      return;
    }
    this.setStatus(t, f);
    copyTaskstats(t.rec, f);
    if (t.zombieCpuNs !== undefined) raiseCpu(t.rec, t.zombieCpuNs);
    t.figuresCpuNs = f.cpuNs;
    this.splitCpu(t);
    this.write(t);
  }

  /**
   * With the tick samples read at its exit's notification (the ledger): its whole runtime split as
   * wait4 will split it (adjustCputime), where taskstats' ratio lacks the ticks of the teardown that
   * follows its record (exit_mm, exit_files: system time, up to 17 ms off in bench/accuracy.ts).
   */
  private splitCpu(t: Track) {
    if (!t.exitTicks || !t.figuresDone) return;
    const ns = Math.max(t.zombieCpuNs ?? 0, t.figuresCpuNs ?? 0);
    if (ns > 0) Object.assign(t.rec, adjustCputime(ns, t.exitTicks));
  }

  /** A child or orphan reaped by the supervisor (wait4 rusage, or Bun's own status for CMD). */
  onReaped(r: Reaped, at: number, startedAt?: number): void {
    // the newest incarnation of the pid (a pid is reused only after its previous process was reaped),
    // or the one whose start time the reaper read: reaps come in a queue, so a newer one may be known
    const live = this.live.get(r.pid);
    const ended = this.ended.get(r.pid);
    const t =
      live && isIncarnation(live.rec, r) ? live : ended && isIncarnation(ended.rec, r) ? ended : undefined;
    if (!t) {
      // its fork has not been read (or it was lost): wait for it, then settle
      if (!this.tracks.forgotten(r.pid)) this.pendingReaped.set(r.pid, { r, at, wall: Date.now() });
      return;
    }
    if (this.live.get(r.pid) === t) {
      // connector: its exit event is on its way (sent right after the parent is notified)
      if (this.eventTimes) {
        t.reaped = { r, at };
        return;
      }
      this.finish(t, at, r);
    }
    // proc-poll: the supervisor's fork → reap times of CMD are closer than a poll's
    const rec = t.rec;
    if (startedAt !== undefined && !this.eventTimes && rec.startedAt !== undefined) {
      // both starts are lower bounds (the tick, the time before Bun.spawn), both ends upper bounds
      rec.startedAt = Math.max(rec.startedAt, startedAt);
      rec.endedAt = Math.min(rec.endedAt ?? at, at);
      rec.durationUs = (rec.endedAt - rec.startedAt) * 1000;
    }
    this.applyReaped(t, r);
  }

  private applyReaped(t: Track, r: Reaped) {
    t.reapDone = true;
    this.setStatus(t, r);
    copyRusage(t.rec, r);
    // read by the orphan reaper just before the reap: what finish() reads of a zombie it still sees
    if (r.zombie) this.zombieSeen(t, r.zombie.cpuNs, r.zombie.io);
    this.write(t);
  }

  /** A zombie's final CPU clock (ns) and own I/O: they raise the figures, never lower them. */
  private zombieSeen(t: Track, cpuNs: number | undefined, io: Parameters<typeof raiseIo>[1] | undefined) {
    if (io) raiseIo(t.rec, io);
    if (cpuNs === undefined) return;
    t.zombieCpuNs = Math.max(t.zombieCpuNs ?? 0, cpuNs);
    if (t.figuresDone) raiseCpu(t.rec, t.zombieCpuNs);
    this.splitCpu(t);
  }

  /**
   * What bounds the images a process's execs replaced (its row's exec_peak_rss_kb; src/steps/_rollup.ts
   * splits its lifetime there): KiB, at most that; +Infinity, nothing does (unknown); undefined, no
   * bound is needed — it did not exec after its fork, its row's peak covers them (the ledger's exact
   * figure), or its one exec replaced its parent's image, none of its own (a CLONE_VM child: vfork,
   * posix_spawn; CMD, tracer's).
   */
  private execPeakBound(
    t: Track,
    ledger: ReturnType<NonNullable<RecorderOptions["ledger"]>>,
  ): number | undefined {
    const rec = t.rec;
    if (rec.execAt === undefined) return undefined;
    // exec'd at least twice (the second exec settled its prior command line)
    const again = t.priorSettled === true;
    // The ledger's bound: the kernel's signal->maxrss at its last exec seen (every image replaced so
    // far folded in), or for a CLONE_VM child the baseline its first exec brought. A late entry's
    // counts only through an exec after the entry: CMD's second exec before a delayed attach replaced a
    // 100 MiB image under a baseline of tracer's 47 MiB (an attack, 2 Dec 2026). An exec within
    // ENTRY_SLACK_MS of the entry counts as before it.
    const seen = !again || ledger?.enteredAt === undefined || rec.execAt > ledger.enteredAt + ENTRY_SLACK_MS;
    // with one exec a CLONE_VM child's bound is its parent's peak, not its own: none needed; with more,
    // its own earlier images held at most that, and its peak is then not known (52 MiB under a 1.1 MiB
    // last image was an exact 1.1 MiB: an attack, 2 Dec 2026)
    if (ledger?.execPeakBoundKb && seen && (ledger.maxRssKb !== undefined || again))
      return ledger.execPeakBoundKb;
    if (ledger?.maxRssKb !== undefined) return undefined;
    // CMD's one exec, or a CLONE_VM child's the ledger saw: the image replaced was the parent's
    if (!again && (ledger?.execPeakBoundKb || rec.ppid === this.rootPid)) return undefined;
    // Nothing known of them: no ledger (no eBPF, TRACER_NO_SCHED_RUNTIME=1), or entered after the exec
    // (a daemon's adopted tool). The row's peak is its last image's (taskstats' hiwater_rss); an earlier
    // one may have held more — a forked child's copy of its shell at least, which ru_maxrss counts: no
    // bound, so its step's peak is a lower bound (`./fill 150 /bin/true`: 1 MiB "exact" against 155 MiB)
    if (rec.startedAt === undefined || rec.execAt <= rec.startedAt) return undefined;
    return Number.POSITIVE_INFINITY;
  }

  /**
   * The supervisor started CMD (`Bun.spawn` returned `pid`, so it exec'd). Call after the sources
   * were synced: the fork and exec events are queued by then. Without them (proc-poll), CMD is
   * recorded from here with the supervisor's time.
   */
  spawned(pid: number, at: number, known?: { argv: string[]; cwd: string }): void {
    // Not read yet (seen under load): known from /proc instead, with /proc's start ticks, so that
    // the fork event, when it comes, finds the same process and gives it its exact start.
    // (`at`, taken before Bun.spawn, was measured 26 ms before the fork on a loaded host.)
    // Already ended (its events were read first): the same process, never a second record.
    const ended = this.ended.get(pid);
    const same = ended && Math.abs((ended.rec.startedAt ?? at) - at) < 1000 ? ended : undefined;
    const t = this.live.get(pid) ?? same ?? this.identify(pid, this.rootPid, at, false);
    if (t.unexeced) {
      this.onExec(pid, at);
      t.execStandIn = true;
    }
    // CMD gone before /proc could be read (a zombie shows no cmdline, no cwd): what tracer exec'd is
    // known exactly — the argv it passed to execve and the directory it started CMD in. That was its
    // first image: once it exec'd again (its second exec seen: priorSettled), it is the prior command
    // line, and the last image's, lost, stays unknown (a `bash -c '…; ./tool'` whose bash ran its last
    // command in its own place got bash's argv for the tool's image: 1 of 20 short runs, 2 Dec 2026)
    const rec = t.rec;
    if (!known || rec.argv?.length || !known.argv.length) return;
    if (!t.priorSettled) {
      Object.assign(rec, capArgv(known.argv));
      rec.comm ??= basename(known.argv[0]!).slice(0, 15);
      if (!rec.cwd) rec.cwd = known.cwd;
      this.argvLoss.settle(rec);
      this.write(t);
    } else if (!rec.priorArgv) {
      const first = capArgv(known.argv);
      rec.priorArgv = first.argv;
      if (first.argvTruncated) rec.priorArgvBytes = first.argvBytes;
      this.write(t);
    }
  }

  /** A process the sampler no longer finds although no exit was reported: it ended, status unknown. */
  gone(rec: ProcessRecord, at: number): void {
    // its exit event may still be queued (root's drains come up to 500 ms apart, samples can be 0.1 s):
    // read it first, so that the end is the exit's time, not this sample's
    if (this.live.get(rec.pid)?.rec === rec) this.opts.sync?.();
    const t = this.live.get(rec.pid);
    if (!t || t.rec !== rec) return;
    this.finish(t, t.leaderExit ? Math.max(t.leaderExit.at, t.lastThreadExitAt ?? 0) : (rec.endedAt ?? at));
  }

  /** After a loss: walk the tree below the root and adopt every process we do not know. */
  rescan(at: number): number {
    let found = 0;
    for (const { pid, ppid, st } of treeBelow(this.rootPid)) {
      const t = this.live.get(pid);
      if (t && t.rec.startTicks === st.startTicks) continue;
      if (t) this.finish(t, at);
      this.identify(pid, ppid, at, false);
      found++;
    }
    return found;
  }

  /**
   * Reports whose process never showed up within SETTLE_MS belong to one whose events were lost (or
   * to one outside the run): figures are adopted when the parent at exit is in the run; a reap by the
   * supervisor always is (an orphan of the run). Processes whose end we only know from a reap or from
   * thread exits are ended; ended ones whose figures are in are reduced to stubs.
   */
  settle(all = false): void {
    let now = Date.now();
    let due = (wall: number) => all || now - wall >= SETTLE_MS;
    // (loops, not some(): an Array builtin's first use costs `tracer run` ~0.05 ms, issue 15)
    let waiting = false;
    for (const p of this.pendingFigures.values())
      if (due(p.at)) {
        waiting = true;
        break;
      }
    if (!waiting)
      for (const p of this.pendingReaped.values())
        if (due(p.wall)) {
          waiting = true;
          break;
        }
    if (waiting) {
      // a source still behind a backlog (its drain is capped) may hold the fork yet: such reports
      // are not lost, they wait for the next settle (at the end everything has been read)
      const caughtUp = this.opts.sync?.() !== false;
      now = Date.now();
      due = (wall: number) => all || (caughtUp && now - wall >= SETTLE_MS);
    }
    for (const [pid, head] of this.pendingFigures) {
      // the due ones (the oldest, in exit order) out of the table first: lostProcess identifies a
      // process, which looks there too
      let rest: PendingFigures | undefined = head;
      while (rest && due(rest.at)) rest = rest.next;
      if (rest === head) continue;
      if (rest) this.pendingFigures.set(pid, rest);
      else this.pendingFigures.delete(pid);
      for (let p = head; p !== rest; p = p.next!) {
        const { f, at } = p;
        // end ≈ when the record arrived (its exit event was lost): start from the kernel's elapsed time
        const startedAt = at - f.elapsedUs / 1000;
        const scope = f.ppid === undefined ? undefined : this.tracks.scope(f.ppid, startedAt);
        if (!scope) continue;
        const t = this.lostProcess(pid, f.ppid!, scope, startedAt, at);
        this.applyFigures(t, f);
      }
    }
    for (const [pid, p] of this.pendingReaped) {
      if (!due(p.wall)) continue;
      this.pendingReaped.delete(pid);
      // a zombie whose parent left it unreaped until it died, re-parented to tracer long after it was
      // recorded and forgotten: its row is written, complete (its exit was read while a zombie)
      const ticks = p.r.zombie?.startTicks;
      if (ticks !== undefined && this.writer.written(pid, ticks)) continue;
      const t = this.lostProcess(pid, this.rootPid, "root", undefined, p.at, ticks);
      this.applyReaped(t, p.r);
    }
    for (const t of [...this.live.values()]) {
      if (t.reaped && due(t.reaped.at)) this.finish(t, t.reaped.at, t.reaped.r);
      else if (t.leaderExit && due(t.leaderExit.at) && readStat(t.rec.pid)?.startTicks !== t.rec.startTicks)
        this.finish(t, Math.max(t.leaderExit.at, t.lastThreadExitAt ?? 0));
    }
    this.tracks.compact(this.idOf, all, now);
  }

  /** A process known only from a late report (its fork and exit events were lost). */
  private lostProcess(
    pid: number,
    ppid: number,
    scope: Scope,
    startedAt: number | undefined,
    endedAt: number,
    startTicks?: number,
  ): Track {
    const rec: ProcessRecord = {
      pid,
      startTicks: startTicks ?? epochMsToTicks(startedAt ?? endedAt),
      ppid,
      ...parentOf(scope),
      startedAt,
      endedAt,
    };
    const t: Track = { rec, threads: 0, unexeced: false, approxStart: true, figuresDone: false };
    this.tracks.end(t);
    this.recovered++;
    this.write(t);
    return t;
  }

  /**
   * Write what is pending (`all`: the run is over, settle everything now). An ended process whose exit
   * figures are not in yet waits for them while it ended less than SETTLE_MS ago: taskstats hands a
   * group over one drain after its record (./_taskstats-sums.ts), and drains are up to 500 ms apart,
   * so a flush between the two wrote ~2 in 3 processes of a 200-step pipeline twice (602 inserts, 316–407
   * updates: 2 Dec 2026). Without taskstats it is written SETTLE_MS later, once.
   */
  flush(all = false): void {
    this.endedSinceWrite = 0;
    this.settle(all);
    const now = Date.now();
    this.writer.flush(
      all
        ? undefined
        : (rec) => rec.figures === undefined && rec.endedAt !== undefined && now - rec.endedAt < SETTLE_MS,
    );
    if (all) {
      this.settle(true);
      this.oom.close();
    }
  }
}

/**
 * What an ended process leaves to collect, in items of the usual ~5 KB (src/core/young.ts): its command
 * lines count ~4 bytes a character (the decoded strings, their JSON for the store, the bound copy).
 * By count alone, 2,000 processes of 8 KB command lines left ~60 MB between two full collections:
 * `tracer run` of 12,000 of them peaked at 89 MiB (an attack, 2 Dec 2026).
 */
function garbageWeight(rec: ProcessRecord): number {
  let chars = 0;
  const argv = rec.argv;
  if (argv) for (let i = 0; i < argv.length; i++) chars += argv[i]!.length;
  const prior = rec.priorArgv;
  if (prior) for (let i = 0; i < prior.length; i++) chars += prior[i]!.length;
  return 1 + chars / 1250;
}

// called for every message or process of a recording: kept out of the FTL tier (src/observe/tiers.ts)
dfgOnly(sameRecord, garbageWeight);
