/**
 * Summing the kernel's per-thread taskstats exit records into one ExitFigures per thread group, and
 * deciding when a group is complete (see ./taskstats.ts). Pure apart from the injected live-thread
 * check, so tests drive it with synthetic records.
 */
import { linkCount } from "../../ffi/fs.ts";
import { decodeWaitStatus, splitRuntime, type TaskRecord } from "./_netlink-parse.ts";
import type { RuntimeProbe } from "./_taskstats-probe.ts";
import type { ExitFigures } from "./types.ts";

/** Live threads of a group right now (/proc/PID/task's link count is 2 + threads); 0 once reaped. */
export function liveThreads(tgid: number): number {
  // ENOENT once reaped, ESRCH while it is being torn down: 0 (no Error built, most are gone)
  const n = linkCount(`/proc/${tgid}/task`);
  return n === undefined ? 0 : n - 2;
}

/**
 * ac_flag's "last thread of the group" (linux/acct.h), which taskstats_exit sets since struct version
 * 12 (Linux 5.19; the same change added ac_tgid); on older kernels a leader's record asks /proc whether
 * threads remain (liveThreads).
 */
const AGROUP = 0x20;
const AGROUP_SINCE = 12;

interface Group {
  recs: TaskRecord[];
  /** the AGGR_TGID block: CPU of every thread the group ever had */
  aggr?: TaskRecord;
  /** the record that finished the group (AGGR_TGID carrier or the lone leader) */
  last?: TaskRecord;
  /** `last` is the kernel's last thread (AGGR_TGID or AGROUP): no later record reopens the group */
  ended?: boolean;
  /** set once complete: emitted on the first poll that brings no more records for it */
  readyAt?: number;
  /** the largest (clock − taskstats) of the confirmed runtime probes, ns */
  probeGainNs?: number;
  /** the largest reading of the process CPU clock during its exit teardown, ns */
  clockNs?: number;
  /** complete, but its teardown is being watched: not emitted yet */
  held?: boolean;
}

/**
 * Sums per-thread records by tgid and decides when a group is complete. Pure apart from the
 * injected `threadsAlive` check, so tests can drive it with synthetic records.
 */
export class TgidSums {
  private readonly groups = new Map<number, Group>();
  /** complete groups whose tgid a later process has taken (add), emitted by the next flush */
  private replaced: [number, Group][] = [];
  private tick = 0;

  constructor(private readonly threadsAlive: (tgid: number) => number = liveThreads) {}

  /** Add one per-thread record; true when it completed its group. */
  add(rec: TaskRecord, groupDead: boolean, aggr?: TaskRecord): boolean {
    const last = groupDead || (rec.acFlag & AGROUP) !== 0;
    const had = this.groups.get(rec.tgid);
    // a second last thread: another process, given the pid once the first was reaped (clone3 set_tid,
    // ns_last_pid: 20 ms later was enough), before the first's group was emitted — summed into it, the
    // first had both processes' CPU and the second none (found by an attack, 2 Dec 2026)
    if (had?.ended && last) {
      this.replaced.push([rec.tgid, had]);
      this.groups.delete(rec.tgid);
    }
    const g: Group = this.groups.get(rec.tgid) ?? { recs: [] };
    this.groups.set(rec.tgid, g);
    g.recs.push(rec);
    if (aggr) g.aggr = aggr;
    g.readyAt = undefined;
    // the kernel's mark of a group's last thread (a single-threaded process's exit): nothing to ask /proc
    if (last) {
      g.last = rec;
      g.ended = true;
    } else if (!g.ended) {
      // (once ended it stays so: a leader that left first can be queued after the last thread, whose
      // record then came first; taken for "threads left behind" below, the group waited for the run's end)
      // Where the kernel marks the last thread, a leader's record without the mark is never the end: the
      // old leader a non-leader thread's exec replaced (de_thread) exits so, and /proc then shows the
      // exec'ing thread alone — taken for the end, it split one process into two rows, the second with
      // its figures counted again (found by an attack, 1 Dec 2026)
      const marks = rec.version >= AGROUP_SINCE;
      if (!marks && rec.pid === rec.tgid && g.recs.length === 1 && this.threadsAlive(rec.tgid) <= 1)
        g.last = rec;
      // a leader leaving threads behind: wait for the AGGR_TGID record of the last one
      else if (rec.pid === rec.tgid) g.last = undefined;
    }
    if (g.last) g.readyAt = this.tick;
    return g.last !== undefined;
  }

  /** A reading of the group's process CPU clock (a lower bound of its final runtime), ns. */
  clock(tgid: number, ns: number): void {
    const g = this.groups.get(tgid);
    if (g) g.clockNs = Math.max(g.clockNs ?? 0, ns);
  }

  /** Keep a complete group from being emitted (its teardown is watched) until `release`. */
  hold(tgid: number, held: boolean): void {
    const g = this.groups.get(tgid);
    if (g) g.held = held;
  }

  /** A confirmed runtime probe of a group with records in (./_taskstats-probe.ts). */
  probed(tgid: number, p: RuntimeProbe): void {
    const g = this.groups.get(tgid);
    if (!g) return;
    g.probeGainNs = Math.max(g.probeGainNs ?? 0, p.clockNs - p.statsNs);
  }

  /** Call after each drain: returns the groups complete since an earlier drain (late records joined). */
  flush(all = false): ExitFigures[] {
    this.tick++;
    const out: ExitFigures[] = [];
    // in exit order: the replaced before the process that took their tgid
    if (this.replaced.length) {
      for (const [tgid, g] of this.replaced) out.push(sum(tgid, g));
      this.replaced = [];
    }
    for (const [tgid, g] of this.groups) {
      if (!all && (g.readyAt === undefined || g.readyAt >= this.tick - 1 || g.held)) continue;
      this.groups.delete(tgid);
      out.push(sum(tgid, g));
    }
    return out;
  }
}

function sum(tgid: number, g: Group): ExitFigures {
  // The leader's record names the process (a thread may have a name of its own). There are two when
  // another thread exec'd after the leader had exited (pthread_exit in main): the exec makes it the
  // leader, with the old one's pid and start, so its record (the image it runs, the whole elapsed
  // time) is the later one: the larger elapsed time, whatever order the per-CPU queues gave them.
  let leader: TaskRecord | undefined;
  for (const r of g.recs) if (r.pid === tgid && (!leader || r.etimeUs >= leader.etimeUs)) leader = r;
  leader ??= g.recs[0]!;
  const last = g.last ?? g.recs[g.recs.length - 1]!;
  const { exitCode, signal } = decodeWaitStatus(last.status);
  const f: ExitFigures = {
    tgid,
    pid: leader.pid,
    ppid: leader.ppid,
    comm: leader.comm,
    ...(signal === undefined ? { exitCode } : { signal }),
    beginSec: leader.btimeSec,
    elapsedUs: leader.etimeUs,
    userUs: 0,
    systemUs: 0,
    peakRssKb: 0,
    peakVmKb: 0,
    rchar: 0,
    wchar: 0,
    readBytes: 0,
    writeBytes: 0,
  };
  let tickUser = 0;
  let tickSystem = 0;
  let runNs = 0;
  for (const r of g.recs) {
    tickUser += r.utimeUs;
    tickSystem += r.stimeUs;
    runNs += r.cpuRunNs;
    f.peakRssKb = Math.max(f.peakRssKb, r.hiwaterRssKb);
    f.peakVmKb = Math.max(f.peakVmKb, r.hiwaterVmKb);
    f.rchar += r.rchar;
    f.wchar += r.wchar;
    f.readBytes += r.readBytes;
    f.writeBytes += r.writeBytes;
  }
  // the kernel's own runtime sum over every thread, when sent (threads whose records we missed count
  // too); its tick fields are not filled (delay accounting only), so the ratio stays the threads'
  if (g.aggr && g.aggr.cpuRunNs > runNs) runNs = g.aggr.cpuRunNs;
  // what the records lack and the probes saw folded in: a lower bound of rusage (_taskstats-probe.ts)
  // A must be the kernel's own sum (signal->stats, as G saw it): a thread's record reads its runtime
  // again after adding it there, and a slice folded in between would count twice
  if (g.aggr && g.probeGainNs) runNs = Math.max(runNs, g.aggr.cpuRunNs + g.probeGainNs);
  // the process CPU clock read during the exit teardown, or of the zombie (then exact)
  if (g.clockNs && g.clockNs > runNs) runNs = g.clockNs;
  // the scheduler's exact runtime in the ticks' user/system ratio (= rusage); ticks alone without it
  if (runNs > 0) {
    f.cpuNs = runNs;
    Object.assign(f, splitRuntime(runNs, tickUser, tickSystem));
  } else {
    f.userUs = tickUser;
    f.systemUs = tickSystem;
  }
  return f;
}
