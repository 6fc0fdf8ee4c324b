/** The few libc calls Bun does not expose. The only other place besides native.ts that uses bun:ffi. */
import { dlopen, FFIType, type Pointer } from "bun:ffi";

/** The C library's file names to try, in order. */
export const libcNames = (): string[] => {
  if (process.platform === "darwin") return ["libSystem.B.dylib"];
  const arch = process.arch === "arm64" ? "aarch64" : "x86_64";
  return ["libc.so.6", `libc.musl-${arch}.so.1`, `/lib/ld-musl-${arch}.so.1`, "libc.so"];
};

const defs = {
  flock: { args: [FFIType.i32, FFIType.i32], returns: FFIType.i32 },
  prctl: { args: [FFIType.i32, FFIType.u64, FFIType.u64, FFIType.u64, FFIType.u64], returns: FFIType.i32 },
  wait4: { args: [FFIType.i32, FFIType.ptr, FFIType.i32, FFIType.ptr], returns: FFIType.i32 },
  mmap: {
    args: [FFIType.ptr, FFIType.u64, FFIType.i32, FFIType.i32, FFIType.i32, FFIType.i64],
    returns: FFIType.ptr,
  },
  munmap: { args: [FFIType.ptr, FFIType.u64], returns: FFIType.i32 },
  lseek: { args: [FFIType.i32, FFIType.i64, FFIType.i32], returns: FFIType.i64 },
  clock_gettime: { args: [FFIType.i32, FFIType.ptr], returns: FFIType.i32 },
} as const;

type Libc = ReturnType<typeof dlopen<typeof defs>>["symbols"];
let libc: Libc | undefined;

export function loadLibc(): Libc {
  if (libc) return libc;
  let last: unknown;
  for (const name of libcNames()) {
    try {
      libc = dlopen(name, process.platform === "darwin" ? { flock: defs.flock } : defs).symbols as Libc;
      return libc;
    } catch (e) {
      last = e;
    }
  }
  throw new Error(`cannot load the C library: ${(last as Error)?.message}`, { cause: last });
}

const MFD_CLOEXEC = 1;
let memfd: ((name: Uint8Array, flags: number) => number) | null | undefined;

/**
 * memfd_create(name, MFD_CLOEXEC): an anonymous memory file (Linux ≥ 3.17, glibc ≥ 2.27), or -1 when
 * this libc or kernel has none. Bound on its own so a libc without it costs nothing else.
 */
export function memfdCreate(name: string): number {
  if (memfd === undefined) {
    memfd = null;
    if (process.platform === "linux")
      for (const lib of libcNames()) {
        try {
          const f = dlopen(lib, { memfd_create: { args: [FFIType.ptr, FFIType.u32], returns: FFIType.i32 } })
            .symbols.memfd_create;
          memfd = (n, flags) => f(n, flags);
          break;
        } catch {}
      }
  }
  return memfd ? memfd(Buffer.from(`${name}\0`), MFD_CLOEXEC) : -1;
}

const MADV_DONTNEED = 4;
let madvise: ((address: number, length: number, advice: number) => number) | null | undefined;

/**
 * madvise(address, length, MADV_DONTNEED): drop the pages of a range from this process's page
 * tables. For a private file mapping whose pages were never written, a later access maps them again
 * from the page cache (a minor fault); a written (copied) page would be lost, so callers check that
 * the range holds none. False when not possible (not Linux, no such symbol, the call failed). Bound
 * on its own: only `tracer run` calls it, once.
 */
export function dropPages(address: number, length: number): boolean {
  if (madvise === undefined) {
    madvise = null;
    if (process.platform === "linux")
      for (const lib of libcNames()) {
        try {
          const f = dlopen(lib, {
            madvise: { args: [FFIType.u64, FFIType.u64, FFIType.i32], returns: FFIType.i32 },
          }).symbols.madvise;
          madvise = (a, n, advice) => f(a, n, advice);
          break;
        } catch {}
      }
  }
  return madvise ? madvise(address, length, MADV_DONTNEED) === 0 : false;
}

export const LOCK_EX = 2;
export const LOCK_NB = 4;
export const LOCK_UN = 8;

export const WNOHANG = 1;
export const PR_SET_CHILD_SUBREAPER = 36;

/** What wait4 tells about a reaped child: decoded status and its rusage (Linux x86_64/arm64 layout). */
export interface Reaped {
  pid: number;
  exitCode?: number;
  signal?: number;
  coreDumped: boolean;
  userUs: number;
  systemUs: number;
  /** peak resident set of the child, KiB (ru_maxrss; it includes the memory the child had before exec) */
  maxRssKb?: number;
  /** read at the zombie stage, just before the reap (the orphan reaper, ffi/reaper.c): */
  zombie?: {
    /** /proc/PID/stat start time, clock ticks since boot: which incarnation of the pid this was */
    startTicks?: number;
    /** the process's CPU clock, ns: its whole runtime, exit teardown included */
    cpuNs?: number;
    /** /proc/PID/io's final counters, bytes */
    io?: { rchar: number; wchar: number; readBytes: number; writeBytes: number };
  };
}

export function decodeWaitStatus(st: number): { exitCode?: number; signal?: number; coreDumped: boolean } {
  const sig = st & 0x7f;
  if (sig === 0) return { exitCode: (st >> 8) & 0xff, coreDumped: false };
  return { signal: sig, coreDumped: (st & 0x80) !== 0 };
}

/**
 * wait4(pid, WNOHANG) for one specific pid (never -1: Bun waits for its own children and must not
 * lose their status). Returns undefined while the child is still running or when it is not ours.
 */
export function reapPid(pid: number): Reaped | undefined {
  const status = new Int32Array(1);
  const ru = new BigInt64Array(18);
  const r = loadLibc().wait4(pid, status, WNOHANG, ru);
  if (r <= 0) return undefined;
  const us = (i: number) => Number(ru[i]!) * 1e6 + Number(ru[i + 1]!);
  return {
    pid: r,
    ...decodeWaitStatus(status[0]!),
    userUs: us(0),
    systemUs: us(2),
    maxRssKb: Number(ru[4]!),
  };
}

/** Become a child subreaper: orphans of our descendants are re-parented to us (Linux). */
export function setChildSubreaper(): boolean {
  if (process.platform !== "linux") return false;
  return loadLibc().prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) === 0;
}

/** flock(fd, LOCK_EX|LOCK_NB): true when taken, false when another process holds it. */
export function tryLockExclusive(fd: number): boolean {
  return loadLibc().flock(fd, LOCK_EX | LOCK_NB) === 0;
}

const SEEK_END = 2;

/** lseek(fd, 0, SEEK_END): false when refused. /dev/kmsg uses it to skip the records already logged. */
export function seekEnd(fd: number): boolean {
  if (process.platform !== "linux") return false;
  return Number(loadLibc().lseek(fd, 0, SEEK_END)) >= 0;
}

const CPUCLOCK_SCHED = 2;

/**
 * The CPU clock of process `pid` (all its threads, those that exited included), ns: the scheduler's
 * runtime, what wait4 rusage sums to (kernel thread_group_cputime: the runtime folded in from exited
 * threads plus each live thread's). clock_gettime on MAKE_PROCESS_CPUCLOCK(pid, CPUCLOCK_SCHED), the
 * clockid glibc's clock_getcpuclockid builds; readable for a zombie until it is reaped. Undefined when
 * the pid does not exist (EINVAL) or off Linux.
 */
export function processCpuNs(pid: number): number | undefined {
  if (process.platform !== "linux" || pid <= 0) return undefined;
  // one struct timespec reused, read as 32-bit words: called at every exit, so no typed array and no
  // BigInt per call (garbage that held the recorder's peak RSS ~40 MB higher on a 100k chain)
  if (loadLibc().clock_gettime((~pid << 3) | CPUCLOCK_SCHED, cpuTs) !== 0) return undefined;
  const sec = cpuTs[0]! + cpuTs[1]! * 2 ** 32;
  return sec * 1e9 + cpuTs[2]!;
}
/** struct timespec { time_t tv_sec; long tv_nsec; } (LP64, little-endian) as four u32 words */
const cpuTs = new Uint32Array(4);

const PROT_READ = 1;
const MAP_PRIVATE = 2;
const MAP_POPULATE = 0x8000; // fault the whole file in at once: one syscall instead of ~27k page faults

/**
 * Map `length` bytes of `fd` read-only and private, give the address to `use`, unmap. A read-only
 * mapping is not write access, so the file stays executable (Bun.mmap opens O_RDWR: ETXTBSY).
 * Undefined when not possible (not Linux, empty file, mmap refused): callers fall back to reading.
 */
export function withReadOnlyMap<T>(fd: number, length: number, use: (address: Pointer) => T): T | undefined {
  if (length <= 0 || process.platform !== "linux") return undefined;
  const c = loadLibc();
  const address = c.mmap(null, length, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0) as Pointer | null;
  // MAP_FAILED is (void*)-1; Bun returns null for 0 and a number otherwise
  if (address === null || Number(address) >= 2 ** 64 - 4096 || Number(address) === -1) return undefined;
  try {
    return use(address);
  } finally {
    c.munmap(address, length);
  }
}
