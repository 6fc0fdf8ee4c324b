/**
 * Runtime probes of a live thread group, taken as its threads exit, so a process that runs many
 * threads is not short by every exited thread's unaccounted slice.
 *
 * Why: each per-thread exit record holds `se.sum_exec_runtime` as it was when `taskstats_exit` ran
 * (kernel/delayacct.c `delayacct_add_tsk`, no `update_curr`), so it lacks what the thread ran since the
 * scheduler last accounted it (< 1 tick, 4 ms at HZ=250) plus its exit path. wait4 rusage sums the
 * value that `__exit_signal` folds into `signal->sum_sched_runtime` later, when that slice has been
 * accounted (measured: bench/cpu-threads.ts, docs/CAPTURE.md).
 *
 * A probe of group X reads, in this order:
 *   C = X's process CPU clock (kernel `thread_group_cputime`: `sum_sched_runtime` of released threads,
 *       exactly as rusage will count them, plus each listed thread's current runtime);
 *   G = a TASKSTATS_CMD_GET for tgid X (`fill_stats_for_tgid`: the per-thread records' runtimes summed
 *       so far in `signal->stats`, plus each live thread's current runtime).
 * With A the group's final AGGR_TGID runtime (`signal->stats`: each thread's runtime as its exit
 * added it there; not the records' sum, which reads it again a moment later and can be larger),
 * C + A − G is a lower bound of X's final runtime: threads released before C count exactly; a thread
 * live at C counts what it had at C plus (its share of A − what G saw of it, which is at least what
 * C saw); a thread born after C counts its share of A. Every term is at most the truth, so the
 * estimate is never above rusage.
 *
 * A probe is kept only when it is certainly of X: C and G name a pid, which a new process can reuse
 * once X is reaped. X is reaped only after its last thread sent its record (the AGGR_TGID carrier, or
 * the leader's), and records are queued while they are sent. Probes are taken right after a drain
 * whose last read found the socket empty at `emptyAtNs` (CLOCK_MONOTONIC) without X's last record, so
 * a process that reuses X's pid was born after `emptyAtNs` and cannot have run more than
 * (CPUs × the time since) by the end of the probe. A probe whose G is larger is X's: kept at once.
 * Any other probe is confirmed by the next drain that empties the socket without a last record of X
 * (or any loss) in it.
 */
import { processCpuNs } from "../../ffi/libc.ts";
import { monotonicNs, NETLINK_GENERIC, NetlinkSocket } from "../../ffi/netlink.ts";
import { attributes, genlRequest, messages, NLM_F_REQUEST, TASKSTATS_CMD_GET } from "./_netlink-parse.ts";

const TASKSTATS_CMD_ATTR_PID = 1;
const TASKSTATS_CMD_ATTR_TGID = 2;
const TASKSTATS_TYPE_STATS = 3;
const TASKSTATS_TYPE_AGGR_PID = 4;
const TASKSTATS_TYPE_AGGR_TGID = 5;
/** cpu_run_virtual_total in struct taskstats */
const RUN_NS_OFFSET = 72;
/** ac_etime: µs since the task started */
const ETIME_US_OFFSET = 144;
/** groups probed per drain at most (a daemon run can see many thread exits at once) */
const MAX_PER_DRAIN = 64;
/** the query socket's drain buffer: 64 KiB of reserve + 64 replies of ~450 bytes */
const QUERY_DRAIN_BYTES = 128 << 10;

export interface RuntimeProbe {
  /** the process CPU clock, ns */
  clockNs: number;
  /** the taskstats runtime of the group at the same moment (read after the clock), ns */
  statsNs: number;
}

/** u32 little-endian attribute payload */
const u32 = (v: number): Uint8Array => new Uint8Array(new Uint32Array([v]).buffer);

export class GroupProbes {
  private sock: NetlinkSocket | undefined;
  private readonly pending = new Map<number, RuntimeProbe>();
  private seq = 1000;
  /** probes taken / confirmed (counters for tests and benchmarks) */
  taken = 0;
  confirmedCount = 0;

  /**
   * `cpus`: how many CPUs a process can run on at once (possible CPUs, an upper bound);
   * `onConfirmed` gets each probe once it is certainly of its group.
   */
  constructor(
    private readonly family: number,
    private readonly cpus: number,
    private readonly onConfirmed: (tgid: number, p: RuntimeProbe) => void,
  ) {}

  /** A record of X that may be its last came: a pending probe of X may be of a pid reused since. */
  ended(tgid: number): void {
    this.pending.delete(tgid);
  }

  /** Records were lost: a pending probe's group may have ended unseen. */
  lost(): void {
    this.pending.clear();
  }

  /** After a drain that emptied the socket: every probe taken before it is of its group. */
  confirm(): void {
    for (const [tgid, p] of this.pending) {
      this.confirmedCount++;
      this.onConfirmed(tgid, p);
    }
    this.pending.clear();
  }

  /**
   * Probe each group (clock first, then taskstats); failures (group gone) are skipped. Call right
   * after a drain whose last read, begun at `emptyAtNs` (CLOCK_MONOTONIC), found the socket empty.
   */
  probe(tgids: Iterable<number>, emptyAtNs: number): void {
    const asked = new Map<number, { tgid: number; clockNs: number }>();
    for (const tgid of tgids) {
      if (asked.size >= MAX_PER_DRAIN) break;
      const clockNs = processCpuNs(tgid);
      if (clockNs === undefined) continue;
      const seq = ++this.seq;
      try {
        this.sock ??= NetlinkSocket.open(NETLINK_GENERIC, 0, QUERY_DRAIN_BYTES);
        this.sock.send(
          genlRequest(this.family, NLM_F_REQUEST, seq, TASKSTATS_CMD_GET, [
            [TASKSTATS_CMD_ATTR_TGID, u32(tgid)],
          ]),
        );
      } catch {
        return;
      }
      asked.set(seq, { tgid, clockNs });
    }
    if (asked.size === 0 || !this.sock) return;
    // the kernel answers inside send(): every reply is queued by now
    let buf: Uint8Array;
    try {
      buf = this.sock.drain();
    } catch {
      return;
    }
    // the most a process born after emptyAtNs can have run by now
    const reuseMaxNs = this.cpus * (monotonicNs() - emptyAtNs);
    for (const m of messages(buf)) {
      const a = asked.get(m.seq);
      if (!a || m.type !== this.family) continue;
      const statsNs = field(buf, m.off + 20, m.off + m.len, TASKSTATS_TYPE_AGGR_TGID, RUN_NS_OFFSET);
      if (statsNs === undefined) continue;
      this.taken++;
      const p = { clockNs: a.clockNs, statsNs };
      if (statsNs > reuseMaxNs) {
        this.confirmedCount++;
        this.onConfirmed(a.tgid, p);
      } else this.pending.set(a.tgid, p);
    }
  }

  /**
   * µs since thread `pid` started, exact (TASKSTATS_CMD_GET for a pid: `bacct_add_tsk`'s ac_etime,
   * from the task's start_time); a zombie leader still answers. Undefined when it is gone.
   */
  elapsedUs(pid: number): number | undefined {
    const seq = ++this.seq;
    try {
      this.sock ??= NetlinkSocket.open(NETLINK_GENERIC, 0, QUERY_DRAIN_BYTES);
      this.sock.send(
        genlRequest(this.family, NLM_F_REQUEST, seq, TASKSTATS_CMD_GET, [[TASKSTATS_CMD_ATTR_PID, u32(pid)]]),
      );
      const buf = this.sock.drain();
      for (const m of messages(buf))
        if (m.seq === seq && m.type === this.family)
          return field(buf, m.off + 20, m.off + m.len, TASKSTATS_TYPE_AGGR_PID, ETIME_US_OFFSET);
    } catch {}
    return undefined;
  }

  close(): void {
    this.pending.clear();
    this.sock?.close();
    this.sock = undefined;
  }
}

/** A u64 of the stats in the `aggr` block (AGGR_PID / AGGR_TGID) of a TASKSTATS_CMD_NEW reply. */
function field(buf: Uint8Array, off: number, end: number, aggr: number, at: number): number | undefined {
  for (const a of attributes(buf, off, end)) {
    if (a.type !== aggr) continue;
    for (const n of attributes(buf, a.off, a.off + a.len)) {
      if (n.type !== TASKSTATS_TYPE_STATS || n.len < at + 8) continue;
      return Number(new DataView(buf.buffer, buf.byteOffset + n.off, n.len).getBigUint64(at, true));
    }
  }
  return undefined;
}

/** How long a group's figures wait for its teardown at most, ms (the recorder keeps ended processes 1 s). */
export const TEARDOWN_WAIT_MS = 300;
/**
 * Only groups whose peak RSS reached this are watched, KiB: freeing a smaller address space takes
 * about a millisecond or less (300 MiB took 10–20 ms here, 2 GiB 60–300 ms), and watching every
 * short process would hold its figures back for nothing.
 */
export const TEARDOWN_MIN_RSS_KB = 32 << 10;

/**
 * The exit teardown of a group whose last record came: `taskstats_exit` runs before `exit_mm`, so the
 * records lack the CPU of freeing the address space (60–300 ms for 2 GiB here), which rusage has.
 * The process CPU clock keeps counting through the teardown and can still be read while the process
 * is a zombie. Each drain reads it for every group watched (peak RSS ≥ TEARDOWN_MIN_RSS_KB), until
 * the process is a zombie (its clock is then final) or gone (reaped), or TEARDOWN_WAIT_MS passed; the
 * largest reading is a lower bound of the final CPU.
 *
 * Identity: a reading names a pid. After the clock, the process at that pid is asked for its exact
 * age (taskstats ac_etime, µs). It is the group's when it started before `emptyAtNs`: a drain read
 * that found the socket empty, taken before the group's last record was queued. A process reusing
 * the pid was born after the group was reaped, so after that record, so after `emptyAtNs`. And the
 * group held the pid from its birth until then, so the clock read just before was the group's too.
 */
export class TeardownWatch {
  private readonly watched = new Map<number, { emptyAtNs: number; until: number }>();
  /** readings kept (counter for tests and benchmarks) */
  readings = 0;

  constructor(
    /** µs since the process at `pid` started (exact), undefined when there is none */
    private readonly elapsedUs: (pid: number) => number | undefined,
    /** is the process at `pid` a zombie now (its CPU clock final)? */
    private readonly isZombie: (pid: number) => boolean,
    private readonly onReading: (tgid: number, cpuNs: number) => void,
    private readonly onDone: (tgid: number) => void,
  ) {}

  get size(): number {
    return this.watched.size;
  }

  /** Watch group `tgid`, whose last record came after a read found the socket empty at `emptyAtNs`. */
  start(tgid: number, emptyAtNs: number): boolean {
    if (emptyAtNs <= 0) return false;
    this.watched.set(tgid, { emptyAtNs, until: performance.now() + TEARDOWN_WAIT_MS });
    return true;
  }

  /** Read every watched group's clock once; groups done (gone, or watched too long) are handed back. */
  poll(): void {
    const now = performance.now();
    for (const [tgid, w] of this.watched) {
      const cpuNs = processCpuNs(tgid);
      const ageUs = cpuNs === undefined ? undefined : this.elapsedUs(tgid);
      // started before emptyAtNs: its age (asked after the clock) exceeds the time since, + 1 µs rounding
      const ours =
        cpuNs !== undefined && ageUs !== undefined && ageUs * 1000 > monotonicNs() - w.emptyAtNs + 1000;
      if (ours) {
        this.readings++;
        this.onReading(tgid, cpuNs);
      }
      if (!ours || now >= w.until || this.isZombie(tgid)) {
        this.watched.delete(tgid);
        this.onDone(tgid);
      }
    }
  }

  /** Stop watching everything (the source stops): each group is handed back. */
  clear(): void {
    for (const tgid of this.watched.keys()) this.onDone(tgid);
    this.watched.clear();
  }
}
