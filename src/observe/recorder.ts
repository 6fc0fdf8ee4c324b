/**
 * The recorder: turns capture events, exact exit figures (taskstats), wait4 results and live samples
 * into one process record per (pid, start time) of a run's tree, written through a StoreWriter.
 * Scope: descendants of `rootPid` (the supervisor). Final figures: taskstats when present, else the
 * last /proc sample, else wait4 rusage (which includes reaped descendants); the first known exit
 * status wins.
 */
import { basename } from "node:path";
import type { Reaped } from "../../ffi/libc.ts";
import type { ProcessRecord, StoreWriter } from "../store/index.ts";
import { copyTaskstats, sameProcess } from "./_figures.ts";
import { ArgvLoss, argvOf, capArgv } from "./argv.ts";
import { OomWatch } from "./oom.ts";
import {
  CLK_TCK,
  bootTimeMs,
  readCgroup,
  readCmdline,
  readCwd,
  readStat,
  ticksToEpochMs,
  treeBelow,
} from "./procfs.ts";
import type { ExecArgv } from "./execwatch.ts";
import type { CaptureEvent, ExitFigures } from "./types.ts";

/** how long figures wait for their fork event before they count as a process the connector lost */
const SETTLE_MS = 1000;
/** an exec event and the exec watcher's record of it carry one kernel timestamp, converted separately */
const SAME_EXEC_MS = 3;
/** an ended process stays in memory this long, for late events about it and its children */
const FORGET_MS = 30_000;

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
   * What a process's latest exec ran, read the moment it happened (the exec watcher, ./execwatch.ts).
   * Used instead of /proc when it is that very exec, and when /proc no longer holds the process.
   */
  execArgv?: (pid: number) => ExecArgv | undefined;
}

export class Recorder {
  /** the newest record of each pid in the run (alive or not) */
  private latest = new Map<number, ProcessRecord>();
  private live = new Set<ProcessRecord>();
  /** processes recorded so far (records of ended ones are dropped from memory after FORGET_MS) */
  private count = 0;
  private oom = new OomWatch();
  private argvLoss = new ArgvLoss();
  private lost = 0;
  private lossReasons: Record<string, number> = {};
  private pendingFigures = new Map<number, { f: ExitFigures; at: number }>();
  /** processes known only from their taskstats figures (their events were lost) */
  recovered = 0;

  constructor(
    private readonly writer: StoreWriter,
    readonly rootPid: number,
    private readonly opts: RecorderOptions = {},
  ) {}

  /** Live records, for the sampler. */
  liveRecords(): ProcessRecord[] {
    return [...this.live];
  }
  stats(): RecorderStats {
    return {
      processes: this.count,
      lost: this.lost,
      lossReasons: { ...this.lossReasons },
      argvLost: this.argvLoss.count,
    };
  }

  /** The run's record of `ppid` if it was alive at `at` (events can arrive after we saw it end). */
  private inScope(ppid: number, at?: number): ProcessRecord | "root" | undefined {
    if (ppid === this.rootPid) return "root";
    const p = this.latest.get(ppid);
    if (!p) return undefined;
    if (this.live.has(p)) return p;
    return at !== undefined && p.endedAt !== undefined && at <= p.endedAt ? p : undefined;
  }

  onEvent = (e: CaptureEvent): void => {
    switch (e.type) {
      case "fork":
        if (e.pid !== e.tgid) return; // a thread
        if (this.inScope(e.ptgid, e.at)) this.identify(e.tgid, e.ptgid, e.at);
        return;
      case "exec":
        if (e.pid !== e.tgid) return;
        this.onExec(e.tgid, e.at);
        return;
      case "exit":
        if (e.pid !== e.tgid) return;
        this.onExit(e.tgid, e.at, e.exitCode, e.signal, e.coreDumped);
        return;
      case "loss":
        this.lost += e.count;
        this.lossReasons[e.reason] = (this.lossReasons[e.reason] ?? 0) + e.count;
        this.rescan(e.at);
        return;
    }
  };

  /** A new process in the tree: read its identity now, before it can vanish. */
  private identify(pid: number, ppid: number, at: number): ProcessRecord {
    const st = readStat(pid);
    const startTicks = st?.startTicks ?? Math.round(((at - bootTimeMs()) * CLK_TCK) / 1000);
    const prev = this.latest.get(pid);
    if (prev && prev.startTicks === startTicks) return prev;
    // a process first known from its figures (start estimated from elapsed time) whose fork came late
    if (
      prev &&
      !this.live.has(prev) &&
      prev.figures === "taskstats" &&
      Math.abs(prev.startTicks - startTicks) <= 5
    )
      return prev;
    if (prev && this.live.has(prev)) this.onExit(pid, at); // pid reuse: the old one is gone
    const scope = this.inScope(ppid, at);
    const parent = scope === "root" ? undefined : scope;
    // a fresh fork shares its parent's argv, cwd and cgroup: read them only when there is no parent
    // record (CMD, or a process adopted after a loss); exec reads them again anyway
    const ticksMs = st ? ticksToEpochMs(st.startTicks) : at;
    const rec: ProcessRecord = {
      pid,
      startTicks,
      ppid,
      parent,
      comm: st?.comm ?? parent?.comm,
      ...(parent?.argv ? argvOf(parent) : capArgv(readCmdline(pid))),
      cwd: parent?.cwd ?? readCwd(pid),
      cgroup: parent?.cgroup ?? readCgroup(pid),
      // the connector's fork time is exact; start ticks have 10 ms steps
      startedAt: at >= ticksMs && at <= ticksMs + 1000 / CLK_TCK ? at : ticksMs,
    };
    this.oom.watch(rec.cgroup);
    this.latest.set(pid, rec);
    this.live.add(rec);
    this.count++;
    this.writer.process(rec);
    const early = this.pendingFigures.get(pid);
    if (early && sameProcess(rec, early.f)) {
      this.pendingFigures.delete(pid);
      this.applyFigures(rec, early.f);
    }
    return rec;
  }

  private onExec(pid: number, at: number) {
    let rec = this.latest.get(pid);
    if (!rec || !this.live.has(rec)) {
      // missed the fork (loss, or a source that only reports execs): adopt it if its parent is ours,
      // or (daemon mode) if what it runs is something we were asked to record
      if (this.opts.mayAdopt && !this.opts.mayAdopt(pid, at)) return;
      const st = readStat(pid);
      if (!st) return;
      if (!this.inScope(st.ppid)) {
        const argv = this.opts.adopt ? readCmdline(pid) : undefined;
        if (!argv?.length || !this.opts.adopt?.(argv, st.comm)) return;
      }
      rec = this.identify(pid, st.ppid, at);
    }
    // The exec watcher read this exec (or a later one, whose argv is what /proc would show now): no
    // /proc reads needed. Its time and ours are the same kernel timestamp, converted ms apart.
    const seen = this.opts.execArgv?.(pid);
    if (seen && seen.at >= at - SAME_EXEC_MS) return this.execSeen(rec, pid, seen);
    // Read stat only when cmdline is empty (a zombie) or gone: then the parent's argv no longer
    // applies and stat (or later taskstats) gives the comm. The kernel's comm from taskstats wins.
    const argv = readCmdline(pid);
    // ended (a zombie has an empty cmdline) or already reaped: the watcher's latest read, if in time
    if (!argv?.length && seen && seen.at >= (rec.startedAt ?? at) - SAME_EXEC_MS)
      return this.execSeen(rec, pid, seen);
    if (argv === undefined) {
      // already reaped: nothing more to read
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
      const st = readStat(pid);
      if (st && st.startTicks !== rec.startTicks) return;
      Object.assign(rec, capArgv(undefined));
      rec.comm = st?.comm;
    }
    rec.cwd = readCwd(pid) ?? rec.cwd;
    this.execDone(rec, pid);
  }

  private execSeen(rec: ProcessRecord, pid: number, seen: ExecArgv) {
    rec.argv = seen.argv;
    rec.argvBytes = seen.argvBytes;
    rec.argvTruncated = seen.argvTruncated;
    rec.comm = basename(seen.argv[0]!).slice(0, 15);
    rec.cwd = seen.cwd ?? rec.cwd;
    this.execDone(rec, pid);
  }

  /** The end of every exec: its cgroup (watched for OOM kills), then the write. */
  private execDone(rec: ProcessRecord, pid: number) {
    this.argvLoss.settle(rec);
    rec.cgroup = readCgroup(pid) ?? rec.cgroup;
    this.oom.watch(rec.cgroup);
    this.writer.process(rec);
  }

  private onExit(pid: number, at: number, exitCode?: number, signal?: number, coreDumped?: boolean) {
    const rec = this.latest.get(pid);
    if (!rec || !this.live.has(rec)) {
      if (rec && rec.exitCode === undefined && rec.signal === undefined)
        this.setStatus(rec, exitCode, signal);
      return;
    }
    this.live.delete(rec);
    rec.endedAt = at;
    if (rec.durationUs === undefined && rec.startedAt !== undefined)
      rec.durationUs = (at - rec.startedAt) * 1000;
    this.setStatus(rec, exitCode, signal, coreDumped);
    this.writer.process(rec);
  }

  private setStatus(rec: ProcessRecord, exitCode?: number, signal?: number, coreDumped?: boolean) {
    if (rec.exitCode !== undefined || rec.signal !== undefined) return;
    if (exitCode === undefined && signal === undefined) return;
    rec.exitCode = exitCode;
    rec.signal = signal;
    rec.coreDumped = coreDumped;
    const oom = this.oom.verdict(rec, signal);
    rec.oomKilled = oom.oomKilled;
    rec.oomLimitKb = oom.limitKb;
    this.writer.process(rec);
  }

  /** Exact final figures from taskstats. */
  onExitFigures = (f: ExitFigures): void => {
    const rec = this.latest.get(f.tgid);
    if (!rec || !sameProcess(rec, f)) {
      // the two netlink sockets are drained separately: the fork may not have been read yet
      this.pendingFigures.set(f.tgid, { f, at: Date.now() });
      return;
    }
    this.applyFigures(rec, f);
  };

  /**
   * Figures that found no process within SETTLE_MS belong to a process whose fork event was lost (or
   * to one outside the run): adopt it when its parent at exit is in the run, drop it otherwise.
   */
  settle(all = false): void {
    const now = Date.now();
    for (const [pid, { f, at }] of this.pendingFigures) {
      if (!all && now - at < SETTLE_MS) continue;
      this.pendingFigures.delete(pid);
      const startedAt = at - f.elapsedUs / 1000;
      const scope = f.ppid === undefined ? undefined : this.inScope(f.ppid, startedAt);
      if (!scope) continue;
      const rec: ProcessRecord = {
        pid,
        startTicks: Math.round(((startedAt - bootTimeMs()) * CLK_TCK) / 1000),
        ppid: f.ppid,
        parent: scope === "root" ? undefined : scope,
        startedAt,
        endedAt: at,
      };
      this.latest.set(pid, rec);
      this.count++;
      this.recovered++;
      this.applyFigures(rec, f);
    }
  }

  private applyFigures(rec: ProcessRecord, f: ExitFigures) {
    this.setStatus(rec, f.exitCode, f.signal);
    copyTaskstats(rec, f);
    this.writer.process(rec);
  }

  /** A child or orphan reaped by the supervisor (wait4 rusage, or Bun's own status for CMD). */
  onReaped(r: Reaped, at: number, startedAt?: number): void {
    let rec = this.latest.get(r.pid);
    if (!rec) rec = this.identify(r.pid, this.rootPid, at);
    if (this.live.has(rec)) this.onExit(r.pid, at, r.exitCode, r.signal, r.coreDumped);
    else this.setStatus(rec, r.exitCode, r.signal, r.coreDumped);
    if (startedAt !== undefined && rec.figures !== "taskstats") {
      rec.durationUs = (at - startedAt) * 1000;
      rec.endedAt = at;
    }
    // wait4 rusage includes the descendants the process waited for: use it only when nothing better is known
    if (rec.figures === undefined) {
      rec.userUs = r.userUs;
      rec.systemUs = r.systemUs;
      if (r.maxRssKb !== undefined) rec.peakRssKb = Math.max(r.maxRssKb, rec.peakRssKb ?? 0);
      rec.figures = "wait4";
    }
    this.writer.process(rec);
  }

  /** A process the sampler no longer finds although no exit was reported: it ended, status unknown. */
  gone(rec: ProcessRecord, at: number): void {
    if (!this.live.has(rec)) return;
    this.live.delete(rec);
    rec.endedAt ??= at;
    this.writer.process(rec);
  }

  /** After a loss: walk the tree below the root and adopt every process we do not know. */
  rescan(at: number): number {
    let found = 0;
    for (const { pid, ppid, st } of treeBelow(this.rootPid)) {
      const rec = this.latest.get(pid);
      if (rec && rec.startTicks === st.startTicks && this.live.has(rec)) continue;
      this.identify(pid, ppid, at);
      found++;
    }
    return found;
  }

  /** Processes still alive when the run ends keep no end time; flush what is pending (all: the end). */
  flush(all = false): void {
    this.settle(all);
    this.writer.flush();
    if (all) this.oom.close();
    const old = Date.now() - FORGET_MS;
    for (const [pid, rec] of this.latest)
      if (!this.live.has(rec) && rec.endedAt !== undefined && rec.endedAt < old) this.latest.delete(pid);
  }
}
