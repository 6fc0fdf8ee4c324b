/**
 * The taskstats exit listener as a CaptureSource: exact final figures of every exiting thread group
 * (exit status, elapsed, user/system CPU, peak RSS and VM, rchar/wchar, read_bytes/write_bytes).
 *
 * CPU is the scheduler's runtime (cpu_run_virtual_total, what rusage sums to) split in the tick
 * samples' user/system ratio, as the kernel does for rusage; raised by the process's CPU clock read
 * while its threads exit (each thread's record lacks its last unaccounted slice, which rusage has) and,
 * for a process of ≥ 32 MiB, during its exit teardown (./_taskstats-probe.ts; TRACER_NO_CPU_PROBES=1
 * turns both off).
 * The kernel sends one record per exiting thread. Its AGGR_TGID block lacks RSS and I/O, so figures
 * are summed here from the per-thread records (peak RSS / VM are process-wide: the largest is taken)
 * and a group is emitted once all of its threads are in: at the AGGR_TGID block (the last thread of a
 * group that ever had several), or at the leader's record when the group is down to that one thread.
 * Needs root (CAP_NET_ADMIN); see /work/shared/reference/linux-process-events.md §2.
 */
import { dfgOnly } from "../core/jit-tier.ts";
import { readFileSync } from "../../ffi/fs.ts";
import {
  MARK_ENOBUFS,
  MARK_TRUNC,
  monotonicNs,
  NETLINK_GENERIC,
  NetlinkError,
  NetlinkSocket,
} from "../../ffi/netlink.ts";
import {
  CTRL_ATTR_FAMILY_NAME,
  CTRL_CMD_GETFAMILY,
  cString,
  decodeTaskstats,
  familyId,
  GENL_ID_CTRL,
  genlRequest,
  eachMessage,
  messages,
  NLM_F_ACK,
  NLM_F_REQUEST,
  type NlMsg,
  nlError,
  parseCpuList,
  probeFailure,
  TASKSTATS_CMD_ATTR_DEREGISTER_CPUMASK,
  TASKSTATS_CMD_ATTR_REGISTER_CPUMASK,
  TASKSTATS_CMD_GET,
  type TaskRecord,
  _Emitter,
} from "./_netlink-parse.ts";
import { GroupProbes, TEARDOWN_MIN_RSS_KB, TeardownWatch } from "./_taskstats-probe.ts";
import { TgidSums } from "./_taskstats-sums.ts";
import { _Poller } from "./connector.ts";
import { inInitialPidNamespace, readStat } from "./procfs.ts";
import type { CaptureEvent, CaptureSource, ExitFigures, Probe, SourceStats } from "./types.ts";

export { liveThreads, TgidSums } from "./_taskstats-sums.ts";

export interface TaskstatsOptions {
  /** receive buffer to ask for (the kernel doubles it); default 32 MiB */
  receiveBufferBytes?: number;
  /** drain interval while records flow, ms; default 10 */
  pollMs?: number;
  /** longest drain interval when idle, ms; default 50 */
  idlePollMs?: number;
  /**
   * Called once per drain; the test it returns keeps a record (by its tgid and parent) or drops it
   * before any other work (daemon runs: processes outside every watched tree). Default: keep all.
   */
  filter?: () => ((tgid: number, ppid: number) => boolean) | undefined;
  /**
   * Drops from a drained buffer, before anything else looks at it, the records in peekIds' layout that
   * `filter` would drop (tracer run: natively, ExecWatcher.compactTaskstats; the host's every exit
   * comes through here). The records it keeps in that layout are then not asked of `filter` again;
   * any other shape still is. Their dropped records are not counted in `records`.
   */
  compact?: (buf: Uint8Array) => Uint8Array;
  /** every decoded per-thread record as it comes, with the AGGR_TGID block it carried (experiments) */
  onRecord?: (rec: TaskRecord, aggr?: TaskRecord) => void;
  /** no timer of its own: the owner drains it (drainNow, ConnectorSource.alongside); pollMs unused */
  driven?: boolean;
}

/**
 * tgid and parent of an exit record in the kernel's usual layout (genl header, AGGR_PID { PID, STATS }),
 * read in place so a filter can drop it before it is decoded; undefined for any other shape.
 */
function peekIds(buf: Uint8Array, m: NlMsg): { tgid: number; ppid: number } | undefined {
  if (m.len < 36 + 372) return undefined;
  const dv = new DataView(buf.buffer, buf.byteOffset + m.off, m.len);
  if ((dv.getUint16(22, true) & 0x3fff) !== 4 || (dv.getUint16(26, true) & 0x3fff) !== 1) return undefined;
  if ((dv.getUint16(34, true) & 0x3fff) !== 3 || dv.getUint16(32, true) < 4 + 372) return undefined;
  if (dv.getUint16(36, true) < 12) return undefined; // struct version: ac_tgid from 12 on
  const pid = dv.getUint32(36 + 128, true);
  return { tgid: dv.getUint32(36 + 368, true) || pid, ppid: dv.getUint32(36 + 132, true) };
}

/** The CPU list every listener registers for: all possible CPUs ("0-N"). */
function possibleCpus(): string {
  try {
    return readFileSync("/sys/devices/system/cpu/possible", "utf8").trim();
  } catch {
    return `0-${navigator.hardwareConcurrency - 1}`;
  }
}

type Handler = (buf: Uint8Array, m: NlMsg) => void;

/**
 * Send a request and return the first answer `pick` recognises (the kernel answers inside send, a few
 * short retries cover the rest). Other messages drained meanwhile (exit records) go to `other`.
 */
function exchange<T>(
  sock: NetlinkSocket,
  req: Uint8Array,
  seq: number,
  pick: (buf: Uint8Array, m: NlMsg) => T | undefined,
  other?: Handler,
): T {
  sock.send(req);
  let answer: T | undefined;
  for (let i = 0; i < 50 && answer === undefined; i++) {
    if (i > 0) Bun.sleepSync(2);
    const buf = sock.drain();
    for (const m of messages(buf)) {
      const err = m.seq === seq ? nlError(buf, m) : undefined;
      if (err !== undefined && err !== 0) throw new NetlinkError("taskstats request", err);
      const v = answer === undefined && m.seq === seq ? pick(buf, m) : undefined;
      if (v !== undefined) answer = v;
      else other?.(buf, m);
    }
  }
  if (answer === undefined) throw new Error("taskstats: the kernel did not answer");
  return answer;
}

/** Resolve the "TASKSTATS" family and register `sock` for every CPU's exit records. */
function register(sock: NetlinkSocket, cpus: string, other?: (family: number) => Handler): number {
  const getFamily = genlRequest(GENL_ID_CTRL, NLM_F_REQUEST, 1, CTRL_CMD_GETFAMILY, [
    [CTRL_ATTR_FAMILY_NAME, cString("TASKSTATS")],
  ]);
  const family = exchange(sock, getFamily, 1, familyId);
  const reg = genlRequest(family, NLM_F_REQUEST | NLM_F_ACK, 2, TASKSTATS_CMD_GET, [
    [TASKSTATS_CMD_ATTR_REGISTER_CPUMASK, cString(cpus)],
  ]);
  exchange(sock, reg, 2, (buf, m) => (nlError(buf, m) === 0 ? true : undefined), other?.(family));
  return family;
}

/**
 * Buffers of ~480 exit records (ffi/netlink.ts DRAIN_BYTES) read per drain: 2, about as many
 * processes as one connector drain's events (see connector.ts DRAIN_ROUNDS); on a backlog the next
 * drain follows at once.
 */
const DRAIN_ROUNDS = 2;
/**
 * Drains this far apart while an exit teardown is watched, where the drains are all that sees it (no
 * scheduler-runtime ledger: src/run/index.ts): a parent that reaps at once takes the zombie, so the
 * teardown is counted up to the last drain before it (150 MiB, ~14 ms, was missed whole at 10 ms)
 */
const TEARDOWN_DRAIN_MS = 2;
/** capped drains one after another for sync(all) and stop() (see connector.ts MAX_ALL_ROUNDS) */
const MAX_ALL_ROUNDS = 2048;

const deregister = (family: number, cpus: string) =>
  genlRequest(family, NLM_F_REQUEST, 3, TASKSTATS_CMD_GET, [
    [TASKSTATS_CMD_ATTR_DEREGISTER_CPUMASK, cString(cpus)],
  ]);

export class TaskstatsSource implements CaptureSource {
  readonly name = "taskstats";
  /** each message of a drained buffer (one function, not a closure a drain) */
  private readonly onMessage = (m: NlMsg, buf: Uint8Array) => this.handle(buf, m);
  private sock: NetlinkSocket | undefined;
  private readonly poller = new _Poller(
    () => this.poll(),
    // its last drain stopped at the cap (not merely found records that came meanwhile): a backlog
    () => !this.emptied && this.sock?.capped === true,
  );
  private family = 0;
  private cpus = "";
  private readonly out = new _Emitter<CaptureEvent>();
  private readonly figures: ((f: ExitFigures) => void)[] = [];
  private readonly sums = new TgidSums();
  private keep: ((tgid: number, ppid: number) => boolean) | undefined;
  private probes: GroupProbes | undefined;
  private watch: TeardownWatch | undefined;
  /** CLOCK_MONOTONIC ns when the latest read that found the socket empty began */
  private lastEmptyAt = 0;
  /** the same, as it was when the current drain began */
  private drainEmptyAt = 0;
  /** the last drain read the socket empty */
  private emptied = false;
  /** groups that had a thread exit (not the last) in this drain: probed after it */
  private readonly toProbe = new Set<number>();
  /** per-thread records received */
  records = 0;
  /** effective receive buffer, bytes (as the kernel reports it, doubled) */
  receiveBufferBytes = 0;

  constructor(private readonly opts: TaskstatsOptions = {}) {
    dfgOnly(this.onMessage);
  }

  onEvent(cb: (e: CaptureEvent) => void): void {
    this.out.listeners.push(cb);
  }

  onExitFigures(cb: (f: ExitFigures) => void): void {
    this.figures.push(cb);
  }

  stats(): SourceStats {
    return this.out.stats();
  }

  sync(all = false): boolean {
    this.poll();
    for (let i = 0; all && !this.emptied && i < MAX_ALL_ROUNDS; i++) this.poll();
    return this.emptied || !this.sock;
  }

  async start(): Promise<void> {
    if (this.sock) return;
    const sock = NetlinkSocket.open(NETLINK_GENERIC);
    try {
      this.receiveBufferBytes = sock.setReceiveBuffer(this.opts.receiveBufferBytes ?? 32 << 20);
      this.cpus = possibleCpus();
      this.family = register(sock, this.cpus, (family) => {
        this.family = family;
        return (buf, m) => this.handle(buf, m);
      });
    } catch (e) {
      sock.close();
      throw e;
    }
    this.sock = sock;
    // the records carry pids of the initial pid namespace; the clock and the queries take our own
    if (process.env.TRACER_NO_CPU_PROBES !== "1" && inInitialPidNamespace()) {
      const probes = new GroupProbes(this.family, Math.max(1, parseCpuList(this.cpus).length), (tgid, p) =>
        this.sums.probed(tgid, p),
      );
      this.probes = probes;
      this.watch = new TeardownWatch(
        (pid) => probes.elapsedUs(pid),
        (pid) => readStat(pid)?.state === "Z",
        (tgid, ns) => this.sums.clock(tgid, ns),
        (tgid) => this.sums.hold(tgid, false),
      );
    }
    if (!this.opts.driven) this.poller.start(this.opts.pollMs ?? 10, this.opts.idlePollMs ?? 50);
  }

  /** One drain now (TaskstatsOptions.driven): true if anything came or a teardown is watched. */
  drainNow(): boolean {
    return this.poll();
  }

  /**
   * How soon the next drain should come (ms): TEARDOWN_DRAIN_MS while an exit teardown is watched (its
   * CPU clock is read at each drain until it is a zombie or reaped), else never sooner than planned.
   */
  soonMs(): number {
    return (this.watch?.size ?? 0) > 0 ? TEARDOWN_DRAIN_MS : Number.POSITIVE_INFINITY;
  }

  /** The last drain stopped at its cap with more queued. */
  backlog(): boolean {
    return !this.emptied && this.sock?.capped === true;
  }

  async stop(): Promise<void> {
    const sock = this.sock;
    if (!sock) return;
    this.poller.stop();
    try {
      sock.send(deregister(this.family, this.cpus));
    } catch {}
    this.sync(true);
    this.watch?.clear();
    this.emit(this.sums.flush(true));
    this.sock = undefined;
    sock.close();
    this.probes?.close();
    this.probes = undefined;
  }

  /** Drain, sum, emit the groups now complete; true if anything came. Never blocks. */
  private poll(): boolean {
    const sock = this.sock;
    if (!sock) return false;
    let got = false;
    let emptied = false;
    let emptyAt = 0;
    this.drainEmptyAt = this.lastEmptyAt;
    for (let round = 0; round < DRAIN_ROUNDS; round++) {
      let buf: Uint8Array;
      emptyAt = this.watch ? monotonicNs() : 0;
      try {
        buf = sock.drain();
      } catch (e) {
        this.out.emit({
          type: "loss",
          at: Date.now(),
          count: 1,
          reason: `recv failed: ${(e as Error).message}`,
        });
        this.probes?.lost();
        break;
      }
      if (buf.byteLength === 0) {
        emptied = true;
        if (emptyAt) this.lastEmptyAt = emptyAt;
        break;
      }
      got = true;
      // after the drain: the filter then knows every process these records are about
      this.keep = this.opts.filter?.();
      const compact = this.opts.compact;
      const kept = compact ? compact(buf) : buf;
      eachMessage(kept, this.onMessage);
    }
    this.emptied = emptied;
    // probes taken before this drain are confirmed by it (no last record of their group came)
    if (emptied) this.probes?.confirm();
    this.watch?.poll();
    this.emit(this.sums.flush());
    if (emptied && this.probes && this.toProbe.size > 0) this.probes.probe(this.toProbe, emptyAt);
    this.toProbe.clear();
    // while a teardown is watched, drain at the busy pace
    return got || (this.watch?.size ?? 0) > 0;
  }

  private handle(buf: Uint8Array, m: NlMsg): void {
    if (m.type === MARK_ENOBUFS || m.type === MARK_TRUNC) {
      const reason = m.type === MARK_ENOBUFS ? "ENOBUFS" : "truncated";
      this.probes?.lost();
      this.out.emit({ type: "loss", at: Date.now(), count: 1, reason });
      return;
    }
    const ids = this.keep && peekIds(buf, m);
    // compact() kept only records of the trees among those peekIds reads: no filter call again
    if (ids && !this.opts.compact && !this.keep?.(ids.tgid, ids.ppid)) {
      this.records++;
      this.probes?.ended(ids.tgid);
      return;
    }
    const r = decodeTaskstats(buf, m, this.family);
    if (!r) return;
    this.records++;
    if (this.keep && !ids && !this.keep(r.rec.tgid, r.rec.ppid)) {
      this.probes?.ended(r.rec.tgid);
      return;
    }
    this.opts.onRecord?.(r.rec, r.group);
    const complete = this.sums.add(r.rec, r.groupDead, r.group);
    // a large address space is still being freed: its CPU is read until the process is a zombie
    if (
      complete &&
      r.rec.hiwaterRssKb >= TEARDOWN_MIN_RSS_KB &&
      this.watch?.start(r.rec.tgid, this.drainEmptyAt)
    )
      this.sums.hold(r.rec.tgid, true);
    // a thread that leaves others running: probe the group; the leader's or the last record: stop
    if (!r.groupDead && r.rec.pid !== r.rec.tgid) this.toProbe.add(r.rec.tgid);
    else {
      this.toProbe.delete(r.rec.tgid);
      this.probes?.ended(r.rec.tgid);
    }
  }

  private emit(list: ExitFigures[]): void {
    for (const f of list) for (const cb of this.figures) cb(f);
  }
}

/**
 * Can this process receive taskstats exit records? Registers, runs /bin/true and waits briefly for
 * its record (in its own network namespace registration succeeds but nothing arrives), deregisters.
 * Never throws.
 */
export function probeTaskstats(): Probe {
  let sock: NetlinkSocket | undefined;
  try {
    sock = NetlinkSocket.open(NETLINK_GENERIC);
    const cpus = possibleCpus();
    const family = register(sock, cpus);
    const pid = Bun.spawnSync(["/bin/true"]).pid;
    let seen = false;
    for (let i = 0; i < 40 && !seen; i++) {
      if (i > 0) Bun.sleepSync(5);
      const buf = sock.drain();
      for (const m of messages(buf)) if (decodeTaskstats(buf, m, family)?.rec.pid === pid) seen = true;
    }
    sock.send(deregister(family, cpus));
    if (!seen)
      return { available: false, reason: "registered, but no exit record arrived (own network namespace?)" };
    return { available: true, reason: `exit records arrive (CPUs ${cpus})` };
  } catch (e) {
    return probeFailure(e);
  } finally {
    sock?.close();
  }
}

// called for every message or process of a recording: kept out of the FTL tier (src/observe/tiers.ts)
dfgOnly(peekIds);
