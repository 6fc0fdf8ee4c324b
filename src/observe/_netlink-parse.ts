/**
 * Pure encoding and decoding of the netlink messages tracer uses: proc connector events
 * (include/uapi/linux/cn_proc.h), generic netlink requests and attributes, struct taskstats
 * (include/uapi/linux/taskstats.h). Little-endian hosts only (x86_64, aarch64). No I/O here.
 */
import { dfgOnly } from "../core/jit-tier.ts";
import { decodeLossless } from "../core/lossless.ts";

export const NLMSG_ERROR = 2;
export const NLMSG_DONE = 3;
export const NLM_F_REQUEST = 1;
export const NLM_F_ACK = 4;
/** Markers the native drain writes in place of a dropped / oversized datagram (ffi/netlink.c). */
export const MARK_ENOBUFS = 0xffff;
export const MARK_TRUNC = 0xfffe;

export const CN_IDX_PROC = 1;
export const CN_VAL_PROC = 1;
export const PROC_CN_MCAST_LISTEN = 1;
export const PROC_CN_MCAST_IGNORE = 2;

export const PROC_EVENT = {
  none: 0,
  fork: 0x1,
  exec: 0x2,
  uid: 0x4,
  gid: 0x40,
  sid: 0x80,
  ptrace: 0x100,
  comm: 0x200,
  coredump: 0x40000000,
  exit: 0x80000000,
} as const;

/** One netlink message inside a drained buffer: header fields and the byte range of the whole message. */
export interface NlMsg {
  type: number;
  flags: number;
  seq: number;
  off: number;
  len: number;
}

/**
 * Walk back-to-back netlink messages (each NLMSG_ALIGNed): `each` gets one NlMsg per message, in
 * order. Stops at a malformed length. No generator: the drain loops pass every exit record of the host
 * through here.
 */
export function eachMessage(buf: Uint8Array, each: (m: NlMsg, buf: Uint8Array) => void): void {
  const u = alignedWords(buf);
  for (let off = 0; off + 16 <= buf.byteLength; ) {
    const w = off >>> 2;
    const len = u[w]!;
    if (len < 16 || off + len > buf.byteLength) return;
    const typeFlags = u[w + 1]!;
    each({ type: typeFlags & 0xffff, flags: typeFlags >>> 16, seq: u[w + 2]!, off, len }, buf);
    off += (len + 3) & ~3;
  }
}

/** The messages eachMessage walks, as a list (probes and tests: a few messages each). */
export function messages(buf: Uint8Array): NlMsg[] {
  const out: NlMsg[] = [];
  eachMessage(buf, (m) => out.push(m));
  return out;
}

/**
 * The 40-byte subscribe / unsubscribe request: nlmsghdr + cn_msg + u32 op (the form every kernel
 * accepts). The kernel multicasts its ACK to every listener with cn_msg.ack = our `ack` + 1, which is
 * how a client recognises its own (pick a random `ack`).
 */
export function connectorControl(op: number, ack: number, seq = 0): Uint8Array {
  const b = new Uint8Array(40);
  const dv = new DataView(b.buffer);
  dv.setUint32(0, 40, true);
  dv.setUint16(4, NLMSG_DONE, true);
  dv.setUint32(8, seq, true);
  dv.setUint32(16, CN_IDX_PROC, true);
  dv.setUint32(20, CN_VAL_PROC, true);
  dv.setUint32(24, seq, true);
  dv.setUint32(28, ack, true);
  dv.setUint16(32, 4, true);
  dv.setUint32(36, op, true);
  return b;
}

/** A decoded proc connector message. `data` holds the u32 words of event_data (offset 52 on). */
export interface ProcEvent {
  what: number;
  cpu: number;
  /** cn_msg.seq: per-CPU event counter (ACKs too, on current kernels; older ones sent cpu = -1) */
  seq: number;
  /** cn_msg.ack (an ACK answers a request's ack with ack + 1) */
  ack: number;
  /** ktime_get_ns(), CLOCK_MONOTONIC */
  timestampNs: number;
  data: number[];
}

/** Decode one connector message, or undefined if it is not a proc event. */
export function decodeProcEvent(buf: Uint8Array, m: NlMsg): ProcEvent | undefined {
  if (m.type !== NLMSG_DONE || m.len < 52) return undefined;
  const dv = new DataView(buf.buffer, buf.byteOffset + m.off, m.len);
  if (dv.getUint32(16, true) !== CN_IDX_PROC || dv.getUint32(20, true) !== CN_VAL_PROC) return undefined;
  const data: number[] = [];
  for (let o = 52; o + 4 <= m.len && o < 76; o += 4) data.push(dv.getUint32(o, true));
  return {
    what: dv.getUint32(36, true),
    cpu: dv.getUint32(40, true),
    seq: dv.getUint32(24, true),
    ack: dv.getUint32(28, true),
    timestampNs: Number(dv.getBigUint64(44, true)),
    data,
  };
}

/** A raw wait status (connector exit_code, taskstats ac_exitcode) as exit code or signal. */
export function decodeWaitStatus(status: number): {
  exitCode?: number;
  signal?: number;
  coreDumped?: boolean;
} {
  const sig = status & 0x7f;
  if (sig === 0) return { exitCode: (status >> 8) & 0xff };
  return (status & 0x80) !== 0 ? { signal: sig, coreDumped: true } : { signal: sig };
}

/**
 * Lost-message detection from the per-CPU cn_msg.seq counters. The kernel numbers every proc event
 * per CPU before it tries to deliver it, and delivers one CPU's events in order, so a jump in one CPU's
 * sequence counts exactly the messages we never received. The first message seen from a CPU sets its
 * baseline.
 */
export class SeqGaps {
  private readonly last = new Map<number, number>();
  /** Record `seq` from `cpu`; returns how many messages from that CPU were skipped (0 normally). */
  observe(cpu: number, seq: number): number {
    const prev = this.last.get(cpu);
    this.last.set(cpu, seq);
    if (prev === undefined) return 0;
    const gap = (seq - prev - 1) >>> 0;
    // a huge "gap" is a step backwards (a counter reset or reordering): not a loss we can count
    return gap < 0x80000000 ? gap : 0;
  }

  /** Has a message from `cpu` been seen (its baseline set)? */
  knows(cpu: number): boolean {
    return this.last.has(cpu);
  }
}

const FAILURE_HINTS: Record<string, string> = {
  EPERM: "not permitted (needs root / CAP_NET_ADMIN)",
  EACCES: "not permitted (needs root / CAP_NET_ADMIN)",
  ECONNREFUSED: "refused: own network namespace (a container without --net=host?)",
  EINVAL: "rejected (inside a pid namespace?)",
  EPROTONOSUPPORT: "this kernel lacks the netlink family",
  EAFNOSUPPORT: "this kernel lacks AF_NETLINK",
};

/** A probe result from whatever a failed attempt threw (NetlinkError carries the errno name). */
export function probeFailure(e: unknown): { available: false; reason: string } {
  const code = typeof e === "object" && e !== null && "code" in e ? String(e.code) : "";
  const msg = e instanceof Error ? e.message : String(e);
  return { available: false, reason: FAILURE_HINTS[code] ? `${msg}: ${FAILURE_HINTS[code]}` : msg };
}

/** Listener list plus the counters behind CaptureSource.stats(). */
export class _Emitter<E extends { type: string; count?: number; reason?: string }> {
  readonly listeners: ((e: E) => void)[] = [];
  private events = 0;
  private lost = 0;
  private readonly lossReasons: Record<string, number> = {};

  emit(e: E): void {
    if (e.type === "loss") {
      this.lost += e.count ?? 0;
      const r = e.reason ?? "unknown";
      this.lossReasons[r] = (this.lossReasons[r] ?? 0) + (e.count ?? 0);
    } else this.events++;
    for (const l of this.listeners) l(e);
  }

  stats(): { events: number; lost: number; lossReasons: Record<string, number> } {
    return { events: this.events, lost: this.lost, lossReasons: { ...this.lossReasons } };
  }
}

/** "0-3,5,7-8" (/sys/devices/system/cpu/online) → [0, 1, 2, 3, 5, 7, 8]. */
export function parseCpuList(list: string): number[] {
  const cpus: number[] = [];
  for (const part of list.trim().split(",")) {
    if (!part) continue;
    const range = part.split("-");
    const a = Number(range[0]);
    const b = range.length > 1 ? Number(range[1]) : a;
    if (a === undefined || b === undefined || !Number.isInteger(a) || !Number.isInteger(b)) continue;
    for (let c = a; c <= b; c++) cpus.push(c);
  }
  return cpus;
}

/** Is the running kernel at least major.minor? (release strings like "6.18.44-fc-v657") */
export function kernelAtLeast(release: string, major: number, minor: number): boolean {
  const [a = 0, b = 0] = release.split(/[.-]/).map(Number);
  return a > major || (a === major && b >= minor);
}

// ---- generic netlink and taskstats -------------------------------------------------------------

export const GENL_ID_CTRL = 0x10;
export const CTRL_CMD_GETFAMILY = 3;
export const CTRL_ATTR_FAMILY_ID = 1;
export const CTRL_ATTR_FAMILY_NAME = 2;
export const TASKSTATS_CMD_GET = 1;
export const TASKSTATS_CMD_NEW = 2;
export const TASKSTATS_CMD_ATTR_REGISTER_CPUMASK = 3;
export const TASKSTATS_CMD_ATTR_DEREGISTER_CPUMASK = 4;
const TASKSTATS_TYPE = { pid: 1, tgid: 2, stats: 3, aggrPid: 4, aggrTgid: 5 } as const;

/** A generic netlink request: nlmsghdr + genlmsghdr{cmd, version} + attributes (each NLA_ALIGNed). */
export function genlRequest(
  type: number,
  flags: number,
  seq: number,
  cmd: number,
  attrs: [number, Uint8Array][],
): Uint8Array {
  let size = 20;
  for (const [, v] of attrs) size += (4 + v.byteLength + 3) & ~3;
  const b = new Uint8Array(size);
  const dv = new DataView(b.buffer);
  dv.setUint32(0, size, true);
  dv.setUint16(4, type, true);
  dv.setUint16(6, flags, true);
  dv.setUint32(8, seq, true);
  b[16] = cmd;
  b[17] = 1; // version
  let off = 20;
  for (const [t, v] of attrs) {
    dv.setUint16(off, 4 + v.byteLength, true);
    dv.setUint16(off + 2, t, true);
    b.set(v, off + 4);
    off += (4 + v.byteLength + 3) & ~3;
  }
  return b;
}

export const cString = (s: string): Uint8Array => new TextEncoder().encode(`${s}\0`);

/**
 * Walk the attributes in buf[off, end): `each` gets each one's type (flag bits masked off) and its
 * payload's range. Stops at a malformed length. No object per attribute: the taskstats decoder walks
 * one message per exiting thread of the host.
 */
export function eachAttribute(
  buf: Uint8Array,
  off: number,
  end: number,
  each: (type: number, off: number, len: number) => void,
): void {
  for (let len = attrLen(buf, off, end); len > 0; len = attrLen(buf, off, end)) {
    each(attrType(buf, off), off + 4, len - 4);
    off += (len + 3) & ~3;
  }
}

/** The length (header included) of the attribute at buf[off], 0 when it is malformed or runs past `end`. */
function attrLen(buf: Uint8Array, off: number, end: number): number {
  if (off + 4 > end) return 0;
  const len = buf[off]! | (buf[off + 1]! << 8);
  return len < 4 || off + len > end ? 0 : len;
}

/** The type of the attribute at buf[off], its flag bits (nested, byte order) masked off. */
const attrType = (buf: Uint8Array, off: number): number => (buf[off + 2]! | (buf[off + 3]! << 8)) & 0x3fff;

/** The attributes eachAttribute walks, as a list. */
export function attributes(
  buf: Uint8Array,
  off: number,
  end: number,
): { type: number; off: number; len: number }[] {
  const out: { type: number; off: number; len: number }[] = [];
  eachAttribute(buf, off, end, (type, o, len) => out.push({ type, off: o, len }));
  return out;
}

/** NLMSG_ERROR → errno (0 is an ACK); undefined for any other message. */
export function nlError(buf: Uint8Array, m: NlMsg): number | undefined {
  if (m.type !== NLMSG_ERROR || m.len < 20) return undefined;
  return 0 - new DataView(buf.buffer, buf.byteOffset + m.off, m.len).getInt32(16, true);
}

/** CTRL_CMD_NEWFAMILY reply → the family id, or undefined. */
export function familyId(buf: Uint8Array, m: NlMsg): number | undefined {
  if (m.type !== GENL_ID_CTRL) return undefined;
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  for (const a of attributes(buf, m.off + 20, m.off + m.len))
    if (a.type === CTRL_ATTR_FAMILY_ID && a.len >= 2) return dv.getUint16(a.off, true);
  return undefined;
}

/** One exiting thread's struct taskstats (offsets are stable: the struct only grows at the end). */
export interface TaskRecord {
  version: number;
  pid: number;
  /** ac_tgid (struct version ≥ 12); else the pid */
  tgid: number;
  ppid: number;
  comm: string;
  /** ac_exitcode, a raw wait status */
  status: number;
  /** ac_flag (linux/acct.h): AGROUP (0x20) marks the last thread of its group, on kernels that set it */
  acFlag: number;
  btimeSec: number;
  etimeUs: number;
  /** tick-sampled CPU (multiples of the scheduler tick): only their ratio is exact */
  utimeUs: number;
  stimeUs: number;
  /** cpu_run_virtual_total (offset 72): the scheduler's exact runtime, ns (0 without CONFIG_TASK_DELAY_ACCT) */
  cpuRunNs: number;
  hiwaterRssKb: number;
  hiwaterVmKb: number;
  rchar: number;
  wchar: number;
  readBytes: number;
  writeBytes: number;
}

/**
 * A drained buffer as host-order 32-bit words (netlink is host-endian; every message, attribute and
 * struct taskstats starts 4-byte aligned), made once per buffer: JavaScriptCore's interpreter, where
 * `tracer run`'s lean JIT policy keeps this code, reads a typed array element in one instruction but
 * calls into the runtime for each DataView read (~3× slower per field, issue 15). Unaligned (never
 * from a drain): undefined, and the caller reads a copy.
 */
let wordsOf: Uint8Array | undefined;
let wordsView: Uint32Array | undefined;
export function words(buf: Uint8Array): Uint32Array | undefined {
  if (buf === wordsOf) return wordsView;
  wordsOf = buf;
  wordsView =
    (buf.byteOffset & 3) === 0
      ? new Uint32Array(buf.buffer, buf.byteOffset, buf.byteLength >>> 2)
      : undefined;
  return wordsView;
}

/** words(buf), or the words of an aligned copy (zero-padded to a whole word) */
export function alignedWords(buf: Uint8Array): Uint32Array {
  const u = words(buf);
  if (u) return u;
  const copy = new Uint8Array((buf.byteLength + 3) & ~3);
  copy.set(buf);
  return new Uint32Array(copy.buffer);
}

/** The u64 at word w as a Number: two words, the same double as Number() of the BigInt, no BigInt. */
const u64 = (u: Uint32Array, w: number): number => u[w]! + u[w + 1]! * 2 ** 32;

/**
 * struct taskstats at buf[off, off + len): word offsets are its byte offsets / 4 (version 0,
 * ac_exitcode 4, …). `off` is 4-aligned (an attribute's payload, walked from an aligned message).
 */
function decodeStats(buf: Uint8Array, off: number, len: number): TaskRecord | undefined {
  if (len < 288) return undefined;
  const u = alignedWords(buf);
  const w = off >>> 2;
  const version = u[w]! & 0xffff;
  let nul = off + 80;
  while (nul < off + 112 && buf[nul] !== 0) nul++;
  const pid = u[w + 32]!;
  const btime32 = u[w + 34]!;
  return {
    version,
    pid,
    tgid: version >= 12 && len >= 372 ? u[w + 92]! || pid : pid,
    ppid: u[w + 33]!,
    comm: decodeLossless(buf.subarray(off + 80, nul)),
    status: u[w + 1]!,
    acFlag: buf[off + 8]!,
    btimeSec: version >= 9 && len >= 352 ? u64(u, w + 86) || btime32 : btime32,
    etimeUs: u64(u, w + 36),
    utimeUs: u64(u, w + 38),
    stimeUs: u64(u, w + 40),
    cpuRunNs: u64(u, w + 18),
    hiwaterRssKb: u64(u, w + 50),
    hiwaterVmKb: u64(u, w + 52),
    rchar: u64(u, w + 54),
    wchar: u64(u, w + 56),
    readBytes: u64(u, w + 62),
    writeBytes: u64(u, w + 64),
  };
}

/**
 * A TASKSTATS_CMD_NEW message → the exiting thread's record, and whether it also carried the
 * AGGR_TGID block (sent with the last thread of a group that ever had more than one thread). `group`
 * is that block: its CPU fields are summed over every thread the group ever had (RSS, I/O are 0).
 */
export function decodeTaskstats(
  buf: Uint8Array,
  m: NlMsg,
  family: number,
): { rec: TaskRecord; groupDead: boolean; group?: TaskRecord } | undefined {
  if (m.type !== family || m.len < 20 || buf[m.off + 16] !== TASKSTATS_CMD_NEW) return undefined;
  let rec: TaskRecord | undefined;
  let group: TaskRecord | undefined;
  let groupDead = false;
  // the attributes, and the STATS attribute nested in each AGGR_* one (loops: no closure per record)
  const end = m.off + m.len;
  for (let off = m.off + 20, len = attrLen(buf, off, end); len > 0; len = attrLen(buf, off, end)) {
    const type = attrType(buf, off);
    if (type === TASKSTATS_TYPE.aggrTgid) groupDead = true;
    if (type === TASKSTATS_TYPE.aggrPid || type === TASKSTATS_TYPE.aggrTgid) {
      const innerEnd = off + len;
      for (let i = off + 4, iLen = attrLen(buf, i, innerEnd); iLen > 0; iLen = attrLen(buf, i, innerEnd)) {
        if (attrType(buf, i) === TASKSTATS_TYPE.stats) {
          if (type === TASKSTATS_TYPE.aggrPid) rec = decodeStats(buf, i + 4, iLen - 4);
          else group = decodeStats(buf, i + 4, iLen - 4);
        }
        i += (iLen + 3) & ~3;
      }
    }
    off += (len + 3) & ~3;
  }
  return rec && { rec, groupDead, group };
}

/** ⌊a·b/c⌋ exactly, as the kernel's mul_u64_u64_div_u64 (a 128-bit product): BigInt only past 2^53. */
function mulDiv(a: number, b: number, c: number): number {
  const p = a * b;
  if (!Number.isSafeInteger(p)) return Number((BigInt(a) * BigInt(b)) / BigInt(c));
  const q = Math.floor(p / c);
  return q * c > p ? q - 1 : q; // a quotient just under an integer can round up to it
}

/**
 * The kernel's split of a process's runtime `rtimeNs` into user and system time, µs (truncated, as a
 * timeval): cputime_adjust (kernel/sched/cputime.c), what getrusage and wait4 report. The runtime is
 * shared in the ratio of the tick samples (ns; all user when there is no system sample, all system
 * when there is no user one), never below what an earlier adjust reported (prev_cputime: a
 * /proc/PID/stat read during the process's life; 0 when unknown); a runtime not above that earlier
 * report gives the report itself.
 */
export function adjustCputime(
  rtimeNs: number,
  t: { userNs: number; systemNs: number; prevUserNs: number; prevSystemNs: number },
): { userUs: number; systemUs: number } {
  const rtime = Math.floor(rtimeNs);
  let utime: number;
  let stime: number;
  if (t.prevUserNs + t.prevSystemNs >= rtime) {
    utime = t.prevUserNs;
    stime = t.prevSystemNs;
  } else {
    stime = t.systemNs === 0 ? 0 : t.userNs === 0 ? rtime : mulDiv(t.systemNs, rtime, t.systemNs + t.userNs);
    if (stime > rtime) stime = rtime;
    if (stime < t.prevSystemNs) stime = t.prevSystemNs;
    utime = rtime - stime;
    if (utime < t.prevUserNs) {
      utime = t.prevUserNs;
      stime = rtime - utime;
    }
  }
  return { userUs: Math.floor(utime / 1000), systemUs: Math.floor(stime / 1000) };
}

/** adjustCputime by taskstats' tick samples (µs), with no earlier report. */
export const splitRuntime = (
  runNs: number,
  tickUserUs: number,
  tickSystemUs: number,
): { userUs: number; systemUs: number } =>
  adjustCputime(runNs, {
    userNs: tickUserUs * 1000,
    systemNs: tickSystemUs * 1000,
    prevUserNs: 0,
    prevSystemNs: 0,
  });

// called for every message or process of a recording: kept out of the FTL tier (src/observe/tiers.ts)
dfgOnly(attrLen, attrType, u64, decodeStats);
