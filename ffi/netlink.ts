/**
 * Non-blocking AF_NETLINK sockets for the capture sources (proc connector, taskstats), through the
 * small C helper ffi/netlink.c compiled once per process by bun:ffi's TinyCC. Nothing here blocks:
 * `drain()` returns whatever the kernel has queued, as one buffer of netlink messages.
 * The C source is compiled from embedded text by ./_cc.ts.
 */
import { ptr } from "bun:ffi";
import { embeddedC } from "./_cc.ts";
import { errnoName } from "./_errno.ts";
import { embeddedText } from "./_text.ts" with { type: "macro" };

/** the C source (TinyCC compiles it where the binary carries no prebuilt object: ./_cc.ts) */
const netlinkSource = embeddedText("netlink.c");

export const NETLINK_CONNECTOR = 11;
export const NETLINK_GENERIC = 16;
/** Marker message types tn_drain writes in place of a dropped (ENOBUFS) or oversized datagram. */
export const MARK_ENOBUFS = 0xffff;
export const MARK_TRUNC = 0xfffe;

const symbols = {
  tn_open: { args: ["i32", "u32"], returns: "i32" },
  tn_rcvbuf: { args: ["i32", "i32", "i32"], returns: "i32" },
  tn_send: { args: ["i32", "ptr", "i32"], returns: "i32" },
  tn_send_on_cpu: { args: ["i32", "ptr", "i32", "i32"], returns: "i32" },
  tn_drain: { args: ["i32", "ptr", "i32", "i32"], returns: "i32" },
  tn_close: { args: ["i32"], returns: "i32" },
  tn_monotonic_ns: { args: [], returns: "f64" },
  tn_clock_offsets: { args: ["ptr"], returns: "void" },
} as const;

const compile = embeddedC("netlink.c", netlinkSource, symbols, "the native netlink helper");
type Native = ReturnType<typeof compile>;

function load() {
  if (process.platform !== "linux") throw new Error("netlink exists only on Linux");
  return compile();
}

/** A failed netlink system call; `code` is the errno name (EPERM, ECONNREFUSED, ...). */
export class NetlinkError extends Error {
  override readonly name = "NetlinkError";
  readonly code: string;
  constructor(
    readonly op: string,
    readonly errno: number,
  ) {
    const code = errnoName(errno) ?? `errno ${errno}`;
    super(`netlink ${op}: ${code}`);
    this.code = code;
  }
}

const check = (op: string, r: number): number => {
  if (r < 0) throw new NetlinkError(op, -r);
  return r;
};

/** CLOCK_MONOTONIC in ns (the clock of the proc connector's timestamp_ns). */
export const monotonicNs = (): number => load().tn_monotonic_ns();

/**
 * Exact clock offsets, ms: `realMinusMono` turns a CLOCK_MONOTONIC time (the connector's timestamp_ns)
 * into epoch ms; `realMinusBoot` is the epoch time of boot on CLOCK_BOOTTIME (/proc start ticks). Read
 * back to back in native code (tens of ns apart); re-read them after a while: NTP slews the real clock.
 */
export function clockOffsetsMs(): { realMinusMono: number; realMinusBoot: number } {
  const out = new Float64Array(2);
  load().tn_clock_offsets(ptr(out));
  return { realMinusMono: out[0]!, realMinusBoot: out[1]! };
}

/**
 * Bytes of drain buffer; tn_drain keeps 64 KiB in reserve so no datagram is ever cut: ~2,500 connector
 * messages or ~480 exit records a round (a capped drain is followed at once by the next).
 * JavaScriptCore counts a typed array's backing store against the allocation budget of its next
 * collection (8 MB while the heap is small): `tracer run`'s 1 MiB buffers (and the exec watcher's 2
 * MiB, ffi/execwatch.ts) made ~7 MB of it in its first milliseconds, so an eden collection came ~20 ms
 * in and two more before a 200-step pipeline's end (2–4 ms of pause each). With 256 KiB: one, at
 * Bun's 1 s GC timer; tracer's CPU for that pipeline 77.7 → 72.1 ms (medians of 15, alternated,
 * 2 Dec 2026).
 */
const DRAIN_BYTES = 256 << 10;

/** tn_drain stops once less than this is left in the buffer (TN_RESERVE in netlink.c) */
const RESERVE_BYTES = 65536;

/** netlink messages in the first `n` bytes of `b` (a drained buffer: one per datagram, markers too) */
function countMessages(b: Uint8Array, n: number): number {
  const dv = new DataView(b.buffer, b.byteOffset, n);
  let count = 0;
  for (let off = 0; off + 16 <= n; count++) {
    const len = dv.getUint32(off, true);
    if (len < 16) break;
    off += (len + 3) & ~3;
  }
  return count;
}

export class NetlinkSocket {
  private readonly buf: Uint8Array;
  private closed = false;
  /**
   * The last drain() stopped at its cap (`maxMsgs` datagrams, or a full buffer): more may be queued.
   * False after a drain that read the socket to its end (a drain of fewer ends only there).
   */
  capped = false;

  private constructor(
    private readonly n: Native,
    readonly fd: number,
    drainBytes: number,
  ) {
    this.buf = new Uint8Array(drainBytes);
  }

  /**
   * socket(AF_NETLINK, SOCK_RAW|SOCK_NONBLOCK|SOCK_CLOEXEC, protocol) bound to multicast `groups`.
   * `drainBytes`: the drain buffer (default 256 KiB; at least 64 KiB + one datagram, tn_drain's reserve).
   */
  static open(protocol: number, groups = 0, drainBytes = DRAIN_BYTES): NetlinkSocket {
    const n = load();
    return new NetlinkSocket(n, check("socket/bind", n.tn_open(protocol, groups)), drainBytes);
  }

  /**
   * Ask for a receive buffer of `bytes` (the kernel doubles it): SO_RCVBUFFORCE when `force`
   * (CAP_NET_ADMIN), else SO_RCVBUF capped by net.core.rmem_max. Returns the effective size.
   */
  setReceiveBuffer(bytes: number, force = true): number {
    return check("setsockopt(SO_RCVBUF)", this.n.tn_rcvbuf(this.fd, bytes, force ? 1 : 0));
  }

  send(msg: Uint8Array): void {
    check("send", this.n.tn_send(this.fd, ptr(msg), msg.byteLength));
  }

  /** send() from one CPU: the calling thread is pinned to `cpu` for the call, then restored. */
  sendOnCpu(msg: Uint8Array, cpu: number): void {
    check("send", this.n.tn_send_on_cpu(this.fd, ptr(msg), msg.byteLength, cpu));
  }

  /**
   * Everything queued right now (at most `maxMsgs` datagrams), as netlink messages back to back.
   * The view is reused by the next call. Empty when nothing is pending; throws on a socket error.
   */
  drain(maxMsgs = 8192): Uint8Array {
    this.capped = false;
    if (this.closed) return this.buf.subarray(0, 0);
    const r = check("recv", this.n.tn_drain(this.fd, ptr(this.buf), this.buf.byteLength, maxMsgs));
    // a message is at least 16 bytes: fewer bytes than maxMsgs of them cannot hold maxMsgs datagrams
    this.capped =
      r > this.buf.byteLength - RESERVE_BYTES || (r >= maxMsgs * 16 && countMessages(this.buf, r) >= maxMsgs);
    return this.buf.subarray(0, r);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.n.tn_close(this.fd);
  }
}
