/**
 * The recorder's table of processes, by pid: live ones, ended ones still awaiting late reports
 * (taskstats figures, a reap) with their full record, and compact stubs of forgotten ones (enough to
 * link a late child to its parent's row and to ignore late reports). Bounded by what is alive plus
 * SETTLE_MS of ended records and FORGET_MS of stubs.
 */
import { dfgOnly } from "../core/jit-tier.ts";
import type { Reaped } from "../../ffi/libc.ts";
import type { ExitTicks } from "../../ffi/schedrt.ts";
import type { ProcessRecord } from "../store/index.ts";
import { type Stub, StubTable } from "./_stubs.ts";
import type { ExitFigures } from "./types.ts";

export type { Stub };

/** how long late reports wait for their process (and ended records for their reports) */
export const SETTLE_MS = 1000;
/** a start time known only from a tick or a late report may be this much off */
const START_SLACK_MS = 10;

/** a process that started at `s` had by `at` (either unknown: it may have) */
const startedBy = (at: number | undefined, s: number | undefined) =>
  at === undefined || s === undefined || at >= s - START_SLACK_MS;
/** an ended process's stub stays this long, for late events about its children */
const FORGET_MS = 5000;

export type Status = { exitCode?: number; signal?: number; coreDumped?: boolean };

/** What the recorder holds about a process of the run while it may still get events. */
export interface Track {
  rec: ProcessRecord;
  /** live threads besides the leader, from thread fork/exit events */
  threads: number;
  /** the leader thread has exited while other threads still run (pthread_exit in main) */
  leaderExit?: { at: number; status: Status };
  lastThreadExitAt?: number;
  /** the parent its exit event named (the one the kernel notified; src/observe/recorder.ts finish) */
  notified?: number;
  /** a fork of tracer itself that has not exec'd: tracer's own until it runs CMD's image */
  unexeced: boolean;
  /** start from the supervisor's clock (no fork event yet): the fork event's time replaces it */
  approxStart: boolean;
  /** wait4 result that came before the exit event */
  reaped?: { r: Reaped; at: number };
  figuresDone: boolean;
  /** its CPU clock read while it was a zombie, ns: exactly the runtime rusage reports (see Recorder.finish) */
  zombieCpuNs?: number;
  /** the runtime its taskstats figures gave, ns (ExitFigures.cpuNs) */
  figuresCpuNs?: number;
  /** what wait4 splits its runtime by, read at its exit's notification (the ledger: Recorder.splitCpu) */
  exitTicks?: ExitTicks;
  /** its parent at exit (taskstats): only a process whose parent was tracer can be reaped by tracer */
  exitPpid?: number;
  /** tracer reaped it (wait4) */
  reapDone?: boolean;
  heldFigures?: ExitFigures;
  counted?: boolean;
  /** Date.now() when it ended */
  endedWall?: number;
  /**
   * /proc no longer showed this process when it was identified (reaped; its pid free or another
   * process's): every later /proc read of its pid would fail or read another process, so none is made
   */
  gone?: boolean;
  /**
   * epoch ms by which its argv was read (exact event times only): a read made before its next exec
   * is the image's own (its priorArgv then); Infinity: a later exec's read answered (this exec's own
   * was lost); a /proc read (at a drain, or by the watcher's thread) counts from its time, plus how
   * long an exec shows its new image before its event is sent (READ_MARGIN_MS)
   */
  argvReadBy?: number;
  /** priorArgv has been settled (at its second exec seen): known, or unknown for good */
  priorSettled?: boolean;
  /**
   * onExec ran for tracer's fork before its exec event was read (Recorder.spawned): the event, when it
   * comes, is that same exec, not a second one
   */
  execStandIn?: boolean;
}

export const statusOf = (e: Status): Status => ({
  exitCode: e.exitCode,
  signal: e.signal,
  coreDumped: e.coreDumped,
});

/** A parent in the run: a full record, a forgotten one's row id, or the root (tracer itself). */
export type Scope = Track | Stub | "root";

/** The parent fields of a child of `scope`. */
export const parentOf = (scope: Scope): Pick<ProcessRecord, "parent" | "parentId"> =>
  typeof scope !== "object" ? {} : "rec" in scope ? { parent: scope.rec } : { parentId: scope.rowId };

export class Tracks {
  readonly live = new Map<number, Track>();
  readonly ended = new Map<number, Track>();
  private readonly stubs = new StubTable();
  /** per pid, its processes still without taskstats figures, oldest first (pids are reused fast) */
  private readonly awaiting = new Map<number, Track[]>();

  constructor(readonly rootPid: number) {}

  /**
   * Whether `ppid` was a process of the run at `at` (events can arrive after we saw it end). Both
   * ends of its life count: pids are reused within seconds on a busy host, so a process outside the
   * run may have a parent whose pid one of ours held before or after.
   */
  scope(ppid: number, at?: number): Scope | undefined {
    if (ppid === this.rootPid) return "root";
    const t = this.live.get(ppid);
    if (t) return startedBy(at, t.rec.startedAt) ? t : undefined;
    const old = this.ended.get(ppid) ?? this.stubs.get(ppid);
    if (!old) return undefined;
    const [start, end] = "rec" in old ? [old.rec.startedAt, old.rec.endedAt] : [old.startedAt, old.endedAt];
    return at !== undefined && end !== undefined && at <= end && startedBy(at, start) ? old : undefined;
  }

  /** A forgotten process: reports about it come too late to matter. */
  forgotten = (pid: number): boolean => this.stubs.has(pid);

  start(t: Track): void {
    this.stubs.delete(t.rec.pid);
    this.live.set(t.rec.pid, t);
    const list = this.awaiting.get(t.rec.pid);
    if (list) list.push(t);
    else this.awaiting.set(t.rec.pid, [t]);
  }

  /**
   * The process a taskstats record of `pid` belongs to: the oldest one of that pid still without
   * figures that `matches` (records come in exit order, so with fast pid reuse the first is right).
   */
  takeAwaiting<A>(pid: number, matches: (t: Track, arg: A) => boolean, arg: A): Track | undefined {
    const list = this.awaiting.get(pid);
    if (!list) return undefined;
    // (loops, not findIndex/filter: each Array builtin's first use costs `tracer run` ~0.05 ms, issue 15)
    let t: Track | undefined;
    const rest: Track[] = [];
    for (const x of list)
      if (!t && !x.figuresDone && matches(x, arg)) t = x;
      else if (!x.figuresDone) rest.push(x);
    if (rest.length) this.awaiting.set(pid, rest);
    else this.awaiting.delete(pid);
    return t;
  }

  private dropAwaiting(t: Track): void {
    const list = this.awaiting.get(t.rec.pid);
    if (!list) return;
    const rest: Track[] = [];
    for (const x of list) if (x !== t) rest.push(x);
    if (rest.length) this.awaiting.set(t.rec.pid, rest);
    else this.awaiting.delete(t.rec.pid);
  }

  end(t: Track): void {
    if (this.live.get(t.rec.pid) === t) this.live.delete(t.rec.pid);
    t.endedWall = Date.now();
    // a newer process of the pid replaces an older one here; the older waits in `awaiting` if need be
    const older = this.ended.get(t.rec.pid);
    if (older && older !== t && older.figuresDone) this.dropAwaiting(older);
    this.ended.set(t.rec.pid, t);
  }

  /**
   * Reduce ended records to stubs once their figures are in and they are written (`rowId` knows):
   * after SETTLE_MS, or at once when nothing more can come (complete); after 5 × SETTLE_MS whatever
   * came; `all`: everything written now. Drops expired stubs.
   */
  compact(rowId: (rec: ProcessRecord) => number | undefined, all: boolean, now = Date.now()): void {
    for (const [pid, t] of this.ended) {
      const id = rowId(t.rec);
      const since = now - (t.endedWall ?? 0);
      const done = t.unexeced || (t.figuresDone && (since >= SETTLE_MS || this.complete(t)));
      if (!all && !done && since < 5 * SETTLE_MS) continue;
      if (id === undefined && !t.unexeced) continue; // not written yet: after the next flush
      this.ended.delete(pid);
      this.dropAwaiting(t);
      if (id !== undefined)
        this.stubs.set(pid, {
          startTicks: t.rec.startTicks,
          startedAt: t.rec.startedAt,
          endedAt: t.rec.endedAt ?? now,
          rowId: id,
          forgetAt: now + FORGET_MS,
        });
    }
    this.stubs.expire(now);
  }

  /**
   * Nothing more can come for an ended process: figures and status are in, and tracer reaped it or
   * cannot (its parent at exit was another process; a zombie whose parent dies later is reaped by
   * tracer, but the reap then adds nothing: taskstats' figures win, the status is known).
   */
  private complete(t: Track): boolean {
    const rec = t.rec;
    if (rec.exitCode === undefined && rec.signal === undefined) return false;
    return t.reapDone === true || (t.exitPpid !== undefined && t.exitPpid !== this.rootPid);
  }

  held(): { live: number; ended: number; stubs: number } {
    let waiting = 0;
    for (const list of this.awaiting.values()) waiting += list.length;
    return { live: this.live.size, ended: this.ended.size + waiting, stubs: this.stubs.size };
  }
}

// called for every message or process of a recording: kept out of the FTL tier (src/observe/tiers.ts)
dfgOnly(startedBy);
