/**
 * Readers for /proc/PID/{stat,status,io,cmdline,cwd,cgroup} (proc(5)). Every reader returns undefined
 * when the process is gone or the file is not readable: a process may vanish between any two reads.
 */
import { readFileOrUndefined, readdirSync, readlinkOrUndefined, readlinkSync } from "../../ffi/fs.ts";
import { decodeLossless } from "../core/lossless.ts";

import { CLK_TCK } from "./clock.ts";

export { CLK_TCK, bootEpochMs as bootTimeMs, ticksToEpochMs } from "./clock.ts";
export const PAGE_KB = 4;

/** a failed read builds no Error: most reads of a short process find it gone */
const read = (path: string): string | undefined => readFileOrUndefined(path, "latin1");

export interface ProcStat {
  pid: number;
  comm: string;
  state: string;
  ppid: number;
  pgrp: number;
  session: number;
  /** user and system CPU, ticks */
  utime: number;
  stime: number;
  numThreads: number;
  /** ticks since boot: with pid, the identity of a process */
  startTicks: number;
  vsizeBytes: number;
  rssKb: number;
  /** field 52: the wait status, only while the process is a zombie (0 otherwise) */
  exitStatus: number;
}

/** fields 4… of the last stat text read, by field number (parseStat; one scratch array, no strings) */
const statFields = new Float64Array(53);

/**
 * Parse /proc/PID/stat; the command name may hold spaces and parentheses, so split at the last ")".
 * Read in place: the recorder parses stat a few times per process, and an array of 50 field strings
 * each time was most of its garbage. A missing field reads as 0.
 */
export function parseStat(text: string): ProcStat | undefined {
  const open = text.indexOf("(");
  const close = text.lastIndexOf(")");
  if (open < 0 || close < open) return undefined;
  const from = close + 2;
  let sp = text.indexOf(" ", from);
  if (sp < 0) sp = text.length;
  const state = text.slice(from, sp).trim();
  const f = statFields;
  f.fill(0);
  let field = 4;
  let num = 0;
  let neg = false;
  for (let i = sp + 1, end = text.length; i <= end && field < 53; i++) {
    const c = i < end ? text.charCodeAt(i) : 32;
    if (c === 32 || c === 10) {
      f[field++] = neg ? -num : num;
      num = 0;
      neg = false;
    } else if (c >= 48 && c <= 57) num = num * 10 + (c - 48);
    else if (c === 45) neg = true;
    else num = Number.NaN;
  }
  const comm = text.slice(open + 1, close);
  return {
    pid: Number(text.slice(0, open).trim()),
    // the text was read as latin1 (one char per byte): ASCII stands as it is, else back to bytes,
    // then decoded losslessly
    comm: isAscii(comm) ? comm : decodeLossless(Buffer.from(comm, "latin1")),
    state,
    ppid: f[4]!,
    pgrp: f[5]!,
    session: f[6]!,
    utime: f[14]!,
    stime: f[15]!,
    numThreads: f[20]!,
    startTicks: f[22]!,
    vsizeBytes: f[23]!,
    rssKb: f[24]! * PAGE_KB,
    exitStatus: f[52]!,
  };
}

const isAscii = (s: string): boolean => {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return false;
  return true;
};

export const readStat = (pid: number): ProcStat | undefined => {
  const t = read(`/proc/${pid}/stat`);
  return t === undefined ? undefined : parseStat(t);
};

/**
 * Has the process of this stat ended (a zombie its parent has not reaped)? Not when only its main
 * thread has (pthread_exit in main): the leader is a zombie then too, but its stat counts it among the
 * threads still running; an ended process's says 1.
 */
export const hasEnded = (st: ProcStat): boolean => st.state === "Z" && st.numThreads <= 1;

/** The thread ids of process `pid` (the names in /proc/PID/task), undefined when it is gone. */
function taskIds(pid: number): string[] | undefined {
  try {
    return readdirSync(`/proc/${pid}/task`);
  } catch {
    return undefined;
  }
}

/** argv, decoded losslessly: bytes that are not UTF-8 become U+DC80–U+DCFF (src/core/lossless.ts). */
export const readCmdline = (pid: number): string[] | undefined => {
  const t = read(`/proc/${pid}/cmdline`);
  if (t === undefined) return undefined;
  const parts = decodeLossless(Buffer.from(t, "latin1")).split("\0");
  if (parts[parts.length - 1] === "") parts.pop();
  return parts;
};

/** the cwd, decoded losslessly like argv */
export const readCwd = (pid: number): string | undefined => {
  const b = readlinkOrUndefined(`/proc/${pid}/cwd`);
  return b === undefined ? undefined : decodeLossless(b);
};

/** cgroup v2 path (`0::/path`), else the v1 memory controller's path. */
export function readCgroup(pid: number): string | undefined {
  const t = read(`/proc/${pid}/cgroup`)?.trim();
  if (t === undefined) return undefined;
  return cgroupPath(t);
}
const CGROUP_V1_MEMORY = /^\d+:(?:[^:\n]*,)?memory(?:,[^:\n]*)?:(.*)$/m;
const CGROUP_V2 = /^0::(.*)$/m;

/**
 * The path `(CGROUP_V1_MEMORY.exec(t) ?? CGROUP_V2.exec(t))?.[1]` gives, by a loop over the lines when
 * `t` holds no \r (each regex's first use compiles it: ~0.05 ms of `tracer run -- true`, issue 15);
 * with a \r (a hostile cgroup name: for /m it ends a line, for [^:\n] it does not) the regexes
 * themselves. `t` is latin1 text: no other JS line terminator can be in it.
 */
export function cgroupPath(t: string): string | undefined {
  if (t.includes("\r") || t.includes("\u2028") || t.includes("\u2029"))
    return (CGROUP_V1_MEMORY.exec(t) ?? CGROUP_V2.exec(t))?.[1];
  let v2: string | undefined;
  for (let at = 0; at <= t.length; ) {
    let end = t.indexOf("\n", at);
    if (end < 0) end = t.length;
    // hierarchy-ID:controllers:path, the ID one or more ASCII digits, the controllers without ':'
    let i = at;
    while (i < end && t.charCodeAt(i) >= 48 && t.charCodeAt(i) <= 57) i++;
    if (i > at && i < end && t.charCodeAt(i) === 58) {
      const j = t.indexOf(":", i + 1);
      if (j >= 0 && j < end) {
        if (`,${t.slice(i + 1, j)},`.includes(",memory,")) return t.slice(j + 1, end);
        if (v2 === undefined && i === at + 1 && t.charCodeAt(at) === 48 && j === i + 1)
          v2 = t.slice(j + 1, end);
      }
    }
    at = end + 1;
  }
  return v2;
}

export interface ProcIo {
  rchar: number;
  wchar: number;
  readBytes: number;
  writeBytes: number;
  cancelledWriteBytes: number;
}

/** /proc/PID/io needs ptrace-read access (denied for other users' processes). */
export function readIo(pid: number): ProcIo | undefined {
  return parseIo(read(`/proc/${pid}/io`));
}

/**
 * The I/O counters of process `pid`'s main thread alone (/proc/PID/task/PID/io): unlike /proc/PID/io,
 * they leave out the children it waited for (the kernel adds a reaped child's counters to its parent's)
 * and its other threads. So: exactly the process's own I/O when it has one thread — a zombie's last
 * reading —, never more than its own otherwise.
 */
export function readOwnIo(pid: number): ProcIo | undefined {
  return parseIo(read(`/proc/${pid}/task/${pid}/io`));
}

/**
 * The I/O of process `pid`'s live threads, summed (/proc/PID/task/TID/io of each): what it has done
 * itself, without the children it reaped (which /proc/PID/io adds) — short of the threads that already
 * exited, so never above its own I/O. Undefined when the process is gone. `threads`: its thread count,
 * when known (1: the main thread's file alone).
 */
export function readThreadsIo(pid: number, threads?: number): ProcIo | undefined {
  // one thread (its stat just said so): its own file, without listing the task directory
  if (threads === 1) return readOwnIo(pid);
  const tids = taskIds(pid);
  if (!tids) return undefined;
  let sum: ProcIo | undefined;
  for (const tid of tids) {
    const io = parseIo(read(`/proc/${pid}/task/${tid}/io`));
    if (!io) continue;
    if (!sum) sum = io;
    else
      for (const k of ["rchar", "wchar", "readBytes", "writeBytes", "cancelledWriteBytes"] as const)
        sum[k] += io[k];
  }
  return sum;
}

function parseIo(t: string | undefined): ProcIo | undefined {
  if (t === undefined) return undefined;
  // read in place (at every exit): no array of lines, no match objects
  return {
    rchar: lineNumber(t, "rchar"),
    wchar: lineNumber(t, "wchar"),
    readBytes: lineNumber(t, "read_bytes"),
    writeBytes: lineNumber(t, "write_bytes"),
    cancelledWriteBytes: lineNumber(t, "cancelled_write_bytes"),
  };
}

/** The number of the line "key: 123" (or "key 123": /proc's key-value files), 0 when there is none. */
function lineNumber(text: string, key: string): number {
  for (let at = text.indexOf(key); at >= 0; at = text.indexOf(key, at + 1)) {
    if (at > 0 && text.charCodeAt(at - 1) !== 10) continue;
    let i = at + key.length;
    if (text.charCodeAt(i) === 58) i++; // ':'
    const ws = i;
    while (i < text.length && (text.charCodeAt(i) === 32 || text.charCodeAt(i) === 9)) i++;
    if (i === ws) continue;
    let n = 0;
    const first = i;
    for (let c = text.charCodeAt(i); c >= 48 && c <= 57; c = text.charCodeAt(++i)) n = n * 10 + (c - 48);
    if (i > first) return n;
  }
  return 0;
}

export interface ProcStatus {
  /** peak resident set, KiB */
  vmHwmKb: number;
  vmRssKb: number;
  vmPeakKb: number;
  threads: number;
}

/** /proc/PID/status, or with `tid` that of one of its threads (/proc/PID/task/TID/status). */
export function readStatus(pid: number, tid?: number): ProcStatus | undefined {
  const t = read(tid === undefined ? `/proc/${pid}/status` : `/proc/${pid}/task/${tid}/status`);
  if (t === undefined) return undefined;
  // four lines found in place (the sampler reads this for each live process every second): no array
  // of ~55 lines, no regex run per line
  return {
    vmHwmKb: lineNumber(t, "VmHWM"),
    vmRssKb: lineNumber(t, "VmRSS"),
    vmPeakKb: lineNumber(t, "VmPeak"),
    threads: lineNumber(t, "Threads"),
  };
}

/**
 * The memory figures of a process whose main thread has exited while others run (pthread_exit in
 * main): the leader is then a zombie whose /proc/PID/status has no memory lines and whose stat says
 * rss 0, but every thread shares the memory, so a live thread's status has them. Undefined when no
 * other thread is left to read.
 */
export function readLiveThreadStatus(pid: number): ProcStatus | undefined {
  for (const name of taskIds(pid) ?? []) {
    const tid = Number(name);
    if (tid === pid) continue;
    const status = readStatus(pid, tid);
    // a thread that exited between the listing and the read has no memory lines either
    if (status && status.vmHwmKb > 0) return status;
  }
  return undefined;
}

/** Direct children of a process (all its threads); falls back to a /proc scan without CONFIG_PROC_CHILDREN. */
export function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const t of taskIds(pid) ?? []) {
    const c = read(`/proc/${pid}/task/${t}/children`);
    if (c === undefined) return scanChildren(pid);
    for (const s of c.split(" ")) if (s.trim()) out.push(Number(s));
  }
  return out;
}

/** Every live process below `root`, parents before children (breadth first), with its stat. */
export function treeBelow(root: number): { pid: number; ppid: number; st: ProcStat }[] {
  const out: { pid: number; ppid: number; st: ProcStat }[] = [];
  const queue: [number, number][] = childrenOf(root).map((c) => [c, root]);
  for (let i = 0; i < queue.length; i++) {
    const [pid, ppid] = queue[i]!;
    const st = readStat(pid);
    if (!st) continue;
    out.push({ pid, ppid, st });
    for (const c of childrenOf(pid)) queue.push([c, pid]);
  }
  return out;
}

function scanChildren(ppid: number): number[] {
  const out: number[] = [];
  for (const name of listPids()) if (readStat(name)?.ppid === ppid) out.push(name);
  return out;
}

export const listPids = (): number[] =>
  readdirSync("/proc")
    .filter((n) => /^\d+$/.test(n))
    .map(Number);

export const ticksToUs = (ticks: number) => (ticks * 1e6) / CLK_TCK;

let initialPidNs: boolean | undefined;

/**
 * Is this process in the initial pid namespace? Its /proc/self/ns/pid is then the initial namespace's
 * fixed inode (PROC_PID_INIT_INO, 0xEFFFFFFC). NSpid in /proc/self/status is not enough: under a /proc
 * mounted in the namespace (`unshare -fp --mount-proc`) it lists the namespace's pid alone.
 */
export function inInitialPidNamespace(): boolean {
  // a process's pid namespace never changes: read once (tracer run asks twice at start-up)
  if (initialPidNs === undefined)
    try {
      initialPidNs = readlinkSync("/proc/self/ns/pid") === "pid:[4026531836]";
    } catch {
      initialPidNs = false;
    }
  return initialPidNs;
}
