/**
 * Pure encoding and decoding of the netlink messages tracer uses: proc connector events
 * (include/uapi/linux/cn_proc.h), generic netlink requests and attributes, struct taskstats
 * (include/uapi/linux/taskstats.h). Little-endian hosts only (x86_64, aarch64). No I/O here.
 */

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

/** Walk back-to-back netlink messages (each NLMSG_ALIGNed). Stops at a malformed length. */
export function* messages(buf: Uint8Array): Generator<NlMsg> {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let off = 0;
  while (off + 16 <= buf.byteLength) {
    const len = dv.getUint32(off, true);
    if (len < 16 || off + len > buf.byteLength) return;
    yield {
      type: dv.getUint16(off + 4, true),
      flags: dv.getUint16(off + 6, true),
      seq: dv.getUint32(off + 8, true),
      off,
      len,
    };
    off += (len + 3) & ~3;
  }
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
    const [a, b = a] = part.split("-").map(Number);
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
