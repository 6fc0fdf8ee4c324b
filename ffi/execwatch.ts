/**
 * The exec watcher's native side (ffi/execwatch.c): a thread that blocks on a proc-connector socket
 * and copies the argv and cwd of every watched process the moment it execs. See the C file.
 */
import { type Pointer, ptr } from "bun:ffi";
import { embeddedC } from "./_cc.ts";
import { embeddedText } from "./_text.ts" with { type: "macro" };

/** the C source (TinyCC compiles it where the binary carries no prebuilt object: ./_cc.ts) */
const source = embeddedText("execwatch.c");

const symbols = {
  xw_start: { args: ["i32", "i32", "u32", "i32", "ptr", "i32"], returns: "ptr" },
  xw_ready: { args: ["ptr"], returns: "void" },
  xw_take: { args: ["ptr", "ptr", "i32"], returns: "i32" },
  xw_stop: { args: ["ptr"], returns: "void" },
  xw_stop_soon: { args: ["ptr"], returns: "void" },
  xw_watched: { args: ["ptr", "u32"], returns: "i32" },
  xw_may_watch: { args: ["ptr", "u32", "f64", "f64"], returns: "i32" },
  xw_sync: { args: ["ptr"], returns: "void" },
  xw_compact: { args: ["ptr", "ptr", "i32", "ptr"], returns: "i32" },
  xw_compact_taskstats: { args: ["ptr", "ptr", "i32", "ptr"], returns: "i32" },
} as const;

const compile = embeddedC("execwatch.c", source, symbols, "the native exec watcher");

/** One exec as the watcher saw it: argv as /proc/PID/cmdline held it then, and the cwd. */
export interface SeenExec {
  tgid: number;
  /** CLOCK_MONOTONIC ms of the exec event */
  monoMs: number;
  /**
   * ms after the exec event by which argv was read from /proc (the thread; rounded up to 10 µs;
   * Infinity: 655 ms or later); undefined when the kernel read it in the exec itself (ffi/execargv.c)
   */
  readLagMs?: number;
  /** at most ARGV_CAP_BYTES of it: the last argument kept may be cut */
  argv: string[];
  /** bytes of the whole argv as /proc/PID/cmdline held it (each argument and its NUL) */
  argvBytes: number;
  /** argvBytes is more than what `argv` keeps */
  argvTruncated: boolean;
  cwd?: string;
  /**
   * The tgid that forked it (the fork event the thread handled; else /proc/PID/stat field 4 as read
   * right after argv, which is a reaper's once that parent died) and its start in clock ticks since boot
   * (field 22, read through the same open of /proc/PID as argv: never another process's given the pid
   * meanwhile); undefined when the process was gone by then, and in the kernel's records
   * (ffi/execargv.c).
   */
  ppid?: number;
  startTicks?: number;
}

/**
 * Names an exec must show (basename of argv[0] or argv[1], or its comm) for the thread to watch it:
 * equal to one of `is`, or containing one of `contains`.
 */
export interface NameFilter {
  is: readonly string[];
  contains: readonly string[];
}

/** '=' or '~', the name, NUL; repeated (ffi/execwatch.c). */
function encodeFilter(f: NameFilter): Uint8Array {
  const parts = [...f.is.map((n) => `=${n}\0`), ...f.contains.map((n) => `~${n}\0`)];
  return Buffer.from(`${parts.join("")}\0`, "utf8");
}

/** the C side's cap on argv bytes read per exec (ARGV_CAP in execwatch.c) */
export const ARGV_CAP_BYTES = 65_536;
/**
 * header of a record in the ring: u32 tgid, u32 argv kept, u32 argv full, u16 cwd, u16 read lag, f64 ms,
 * u32 parent's pid, u32 0, f64 start ticks (0: unknown)
 */
export const EXEC_RECORD_HEAD = 40;
const HEAD = EXEC_RECORD_HEAD;
/**
 * The ring's default size: room for 32 records with a full 64 KiB argv and a cwd of 1 KiB, thousands of
 * ordinary ones. It must hold every exec the watcher reads between two pulls (a full ring drops records).
 */
export const RING_BYTES = 32 * (HEAD + ARGV_CAP_BYTES + 1024 + 8);
/**
 * take()'s buffer: records move into it in parts when the ring is bigger (3 of the largest fit). Not
 * more: its bytes count against JavaScriptCore's next collection (see ffi/netlink.ts DRAIN_BYTES).
 */
const OUT_BYTES = 256 << 10;
/** the largest record: its header, a full argv, the longest cwd (CWD_MAX 4,096), padding */
const RECORD_MAX = HEAD + ARGV_CAP_BYTES + 4096 + 8;

/**
 * The records at out[0..n) (the ring layout above: xw_take's, and ffi/execargv.c xa_take's), appended
 * to `seen`; argv and cwd bytes decoded by `decode`.
 */
export function readExecRecords(
  out: Uint8Array,
  n: number,
  decode: (bytes: Uint8Array) => string,
  seen: SeenExec[],
): void {
  const dv = new DataView(out.buffer, out.byteOffset, n);
  for (let at = 0; at + HEAD <= n; ) {
    const argvLen = dv.getUint32(at + 4, true);
    const argvBytes = dv.getUint32(at + 8, true);
    const cwdLen = dv.getUint16(at + 12, true);
    const lag = dv.getUint16(at + 14, true);
    const body = at + HEAD;
    const argv = decode(out.subarray(body, body + argvLen)).split("\0");
    if (argv[argv.length - 1] === "") argv.pop();
    seen.push({
      tgid: dv.getUint32(at, true),
      monoMs: dv.getFloat64(at + 16, true),
      readLagMs: lag === 0 ? undefined : lag === 0xffff ? Number.POSITIVE_INFINITY : lag / 100,
      argv,
      argvBytes,
      argvTruncated: argvBytes > argvLen,
      cwd: cwdLen ? decode(out.subarray(body + argvLen, body + argvLen + cwdLen)) : undefined,
      ppid: dv.getUint32(at + 24, true) || undefined,
      startTicks: dv.getFloat64(at + 32, true) || undefined,
    });
    at += (HEAD + argvLen + cwdLen + 7) & ~7;
  }
}

export class NativeExecWatch {
  private readonly out: Uint8Array;
  private compacted = new Uint8Array(0);
  private handle: Pointer | null;

  /**
   * Start the thread: `execFd` and `forkFd` are subscribed proc-connector sockets kept open until
   * stop(); root 0 watches every process (forkFd unused), or with a name `filter` only the processes
   * whose exec passes it and their descendants (forkFd needed). `ready`: return only once the thread
   * runs (else call ready() before the first exec that must be seen). `ringBytes`: the ring's size.
   */
  constructor(
    execFd: number,
    forkFd: number,
    root: number,
    filter?: NameFilter,
    ready = true,
    ringBytes = RING_BYTES,
  ) {
    if (process.platform !== "linux") throw new Error("the exec watcher exists only on Linux");
    // OUT_BYTES whatever the ring's size: xw_take hands a bigger ring over in parts. A 10 MiB buffer
    // here (tracer run's ring) cost its start-up ~1 ms and 1.7 ms of CPU, zeroed or not.
    this.out = new Uint8Array(Math.min(ringBytes, OUT_BYTES));
    const f = filter ? encodeFilter(filter) : new Uint8Array(1);
    this.handle = compile().xw_start(
      execFd,
      forkFd,
      root,
      ringBytes,
      ptr(f),
      filter ? f.length : 0,
    ) as Pointer | null;
    if (!this.handle) throw new Error("the exec watcher thread did not start");
    if (ready) this.ready();
  }

  /** Wait until the thread runs at its priority: an exec from then on is read the moment it happens. */
  ready(): void {
    if (this.handle) compile().xw_ready(this.handle);
  }

  /** Can `pid` be in a watched tree (as of the events the thread has handled)? */
  watched(pid: number): boolean {
    // `| 0`: bun:ffi passed a pid held as a double (one from DataView.getUint32) wrongly as u32
    return !this.handle || compile().xw_watched(this.handle, pid | 0) !== 0;
  }

  /**
   * Can the process that exec'd at `monoMs` (CLOCK_MONOTONIC) be in a watched tree? False only when
   * the thread has handled that exec (its time within `slackMs`) and did not watch the process.
   */
  mayWatch(pid: number, monoMs: number, slackMs: number): boolean {
    return !this.handle || compile().xw_may_watch(this.handle, pid | 0, monoMs, slackMs) !== 0;
  }

  /**
   * The messages of a drained proc-connector buffer that a recorder of the watched trees needs (with
   * a name filter no thread events; below a root the tree's threads too), renumbered per CPU so that only what the kernel dropped shows as a sequence gap
   * (ffi/execwatch.c xw_compact). Returns a view of an internal buffer, valid until the next call.
   */
  compact(buf: Uint8Array): Uint8Array {
    if (!this.handle || !buf.byteLength) return buf;
    if (this.compacted.byteLength < buf.byteLength + 4) this.compacted = new Uint8Array(buf.byteLength + 4);
    const n = compile().xw_compact(this.handle, ptr(buf), buf.byteLength, ptr(this.compacted));
    return this.compacted.subarray(0, n);
  }

  /**
   * A drained taskstats buffer without the exit records of processes outside the watched trees (those
   * in the kernel's usual layout whose tgid and parent are both unwatched; ffi/execwatch.c
   * xw_compact_taskstats). Forks queued now are read first. Compacted in place: the result is the
   * head of `buf` (no second buffer to add to the run's peak RSS).
   */
  compactTaskstats(buf: Uint8Array): Uint8Array {
    if (!this.handle || !buf.byteLength) return buf;
    const at = ptr(buf);
    return buf.subarray(0, compile().xw_compact_taskstats(this.handle, at, buf.byteLength, at));
  }

  /** Handle the forks queued now: watched() then knows every process forked before this call. */
  sync(): void {
    if (this.handle) compile().xw_sync(this.handle);
  }

  /** Everything seen since the last call, oldest first; argv and cwd bytes decoded by `decode`. */
  take(decode: (bytes: Uint8Array) => string = (b) => new TextDecoder().decode(b)): SeenExec[] {
    const seen: SeenExec[] = [];
    if (!this.handle) return seen;
    for (;;) {
      const n = compile().xw_take(this.handle, ptr(this.out), this.out.byteLength) as number;
      this.read(n, decode, seen);
      // the buffer was the limit: the ring may hold more
      if (n === 0 || n + RECORD_MAX <= this.out.byteLength) return seen;
    }
  }

  /** The n bytes of records xw_take put in `out`, appended to `seen`. */
  private read(n: number, decode: (bytes: Uint8Array) => string, seen: SeenExec[]): void {
    readExecRecords(this.out, n, decode, seen);
  }

  /**
   * Ask the thread to end, without waiting: it reads no exec from now on; take() still returns what it
   * has read. stop() then joins it (at once, when it has ended meanwhile on another CPU).
   */
  stopSoon(): void {
    if (this.handle) compile().xw_stop_soon(this.handle);
  }

  /** Wake the thread, join it, free its memory. The socket may be closed afterwards. */
  stop(): void {
    if (!this.handle) return;
    compile().xw_stop(this.handle);
    this.handle = null;
  }
}
