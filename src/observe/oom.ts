/**
 * OOM-kill detection for a SIGKILLed process, from two sources:
 *  1. the kernel log (./kmsg.ts), which names the killed pid and the limit it hit: exact, needs
 *     CAP_SYSLOG (root);
 *  2. else the `oom_kill` counter of the process's memory cgroup (v2 memory.events, v1
 *     memory.oom_control, kernel ≥ 4.13): a process killed by SIGKILL while the counter rose. The
 *     counter is read when the cgroup is first seen (exec) and again at the kill; one rise is consumed
 *     per SIGKILLed process. Blind to a process that moved to another cgroup after its exec and ended
 *     before it could be read again (what the kernel log covers).
 * The memory limit (KiB) is the log's, else the cgroup's (v1 hierarchical_memory_limit, v2 the
 * smallest memory.max up the tree).
 */
import { existsSync, readFileSync } from "../../ffi/fs.ts";
import { dirname, join } from "../core/path.ts";
import { KernelLog } from "./kmsg.ts";
import { readCgroup } from "./procfs.ts";

export interface OomVerdict {
  oomKilled: boolean;
  /** memory limit of the cgroup the kill was counted in, KiB (undefined: none, or unknown) */
  limitKb?: number;
}

export interface OomOptions {
  /**
   * Where the memory controller's hierarchy is mounted, the directory a cgroup path from
   * /proc/PID/cgroup is relative to (default: /sys/fs/cgroup/memory for v1, else /sys/fs/cgroup or,
   * hybrid, /sys/fs/cgroup/unified). Tests point it at fixture files.
   */
  memoryRoot?: string;
  /** the kernel log to read (default /dev/kmsg), or false for the counters alone */
  kmsg?: string | false;
}

const read = (path: string): string | undefined => {
  try {
    return readFileSync(path, "latin1");
  } catch {
    return undefined;
  }
};

/** v1 writes "no limit" as a huge byte count (PAGE_COUNTER_MAX pages) */
const UNLIMITED = 2 ** 60;

export function defaultMemoryRoot(): string {
  if (existsSync("/sys/fs/cgroup/memory/memory.limit_in_bytes")) return "/sys/fs/cgroup/memory";
  if (existsSync("/sys/fs/cgroup/cgroup.controllers")) return "/sys/fs/cgroup";
  return "/sys/fs/cgroup/unified";
}

/** A cgroup path from /proc/PID/cgroup as a directory below `root` (never above it). */
function cgroupDir(root: string, cgroup: string): string | undefined {
  const parts: string[] = [];
  for (const p of cgroup.split("/")) if (p !== "" && p !== ".") parts.push(p);
  if (parts.includes("..")) return undefined;
  return join(root, ...parts);
}

/**
 * The number of the "oom_kill N" line, as /^oom_kill (\d+)$/m reads it (no regex: its first use costs
 * `tracer run` ~0.03 ms, issue 15).
 */
function oomKillLine(t: string): number | undefined {
  for (let at = t.indexOf("oom_kill "); at >= 0; at = t.indexOf("oom_kill ", at + 1)) {
    if (at > 0 && t[at - 1] !== "\n") continue;
    let end = t.indexOf("\n", at);
    if (end < 0) end = t.length;
    const digits = t.slice(at + 9, end);
    if (digits !== "" && isDigits(digits)) return Number(digits);
  }
  return undefined;
}
const isDigits = (s: string) => {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) < 48 || s.charCodeAt(i) > 57) return false;
  return true;
};

/** The oom_kill counter of a cgroup directory (v2 memory.events, v1 memory.oom_control). */
export function readOomKills(dir: string): number | undefined {
  for (const f of ["memory.events", "memory.oom_control"]) {
    const t = read(join(dir, f));
    const n = t === undefined ? undefined : oomKillLine(t);
    if (n !== undefined) return n;
  }
  return undefined;
}

/** The memory limit in force for a cgroup directory, KiB; undefined when unlimited or unreadable. */
export function readMemoryLimitKb(root: string, dir: string): number | undefined {
  const stat = read(join(dir, "memory.stat"));
  const v1 = stat === undefined ? null : /^hierarchical_memory_limit (\d+)$/m.exec(stat);
  if (v1) return Number(v1[1]) >= UNLIMITED ? undefined : Math.floor(Number(v1[1]) / 1024);
  const own = read(join(dir, "memory.limit_in_bytes"));
  if (own !== undefined) return Number(own) >= UNLIMITED ? undefined : Math.floor(Number(own) / 1024);
  // v2: the smallest memory.max from this cgroup up to (not including) the root
  let min: number | undefined;
  for (let d = dir; d.startsWith(root) && d.length > root.length; d = dirname(d)) {
    const max = read(join(d, "memory.max"))?.trim();
    if (max && max !== "max") min = Math.min(min ?? Number.POSITIVE_INFINITY, Number(max));
  }
  return min === undefined ? undefined : Math.floor(min / 1024);
}

/**
 * Which OOM-kill sources work here, as OomWatch would use them: the kernel log (readable: root), and
 * the oom_kill counter of a memory cgroup, v2 memory.events or v1 memory.oom_control (kernel ≥ 4.13),
 * read in `cgroup` (default: this process's, where `tracer run` starts CMD). `reason` names the
 * working ones, or says why none works.
 */
export function probeOomSources(opts: OomOptions & { cgroup?: string } = {}): {
  available: boolean;
  reason: string;
} {
  const sources: string[] = [];
  const kmsg = opts.kmsg === false ? undefined : (opts.kmsg ?? "/dev/kmsg");
  const log = kmsg === undefined ? undefined : KernelLog.open(kmsg);
  if (log) {
    log.close();
    sources.push(`kernel log (${kmsg})`);
  }
  const root = opts.memoryRoot ?? defaultMemoryRoot();
  const cgroup = opts.cgroup ?? readCgroup(process.pid);
  const dir = cgroup === undefined ? undefined : cgroupDir(root, cgroup);
  if (dir !== undefined) {
    const v2 = read(join(dir, "memory.events"));
    const v1 = read(join(dir, "memory.oom_control"));
    if (v2 !== undefined && oomKillLine(v2) !== undefined)
      sources.push(`cgroup v2 oom_kill counters (memory.events under ${root})`);
    else if (v1 !== undefined && oomKillLine(v1) !== undefined)
      sources.push(`cgroup v1 memory controller's oom_kill counters (memory.oom_control under ${root})`);
  }
  if (sources.length) return { available: true, reason: sources.join(" + ") };
  return {
    available: false,
    reason: `no source: the kernel log is not readable (${kmsg ?? "not used"}: needs root, CAP_SYSLOG) and no memory cgroup oom_kill counter (cgroup v2 memory.events, v1 memory.oom_control, Linux ≥ 4.13) under ${root}`,
  };
}

/** Decides, for each SIGKILLed process, whether the OOM killer did it. */
export class OomWatch {
  private readonly seen = new Map<string, number>();
  private readonly root: string;
  private kernelLog: KernelLog | undefined;

  constructor(opts: OomOptions = {}) {
    this.root = opts.memoryRoot ?? defaultMemoryRoot();
    if (opts.kmsg !== false) this.kernelLog = KernelLog.open(opts.kmsg ?? "/dev/kmsg");
  }

  /** Record a cgroup's counter before any process of it can die (call when a process's cgroup is read). */
  watch(cgroup: string | undefined): void {
    if (cgroup === undefined || this.seen.has(cgroup)) return;
    const dir = cgroupDir(this.root, cgroup);
    const n = dir === undefined ? undefined : readOomKills(dir);
    if (n !== undefined) this.seen.set(cgroup, n);
  }

  /**
   * Was `p` (its cgroup as last read) killed by the OOM killer? Only a SIGKILL can be; ask once per
   * process, when its exit is known.
   */
  verdict(p: { pid: number; cgroup?: string }, signal: number | undefined): OomVerdict {
    if (signal !== 9) return { oomKilled: false };
    const logged = this.kernelLog?.oomKill(p.pid);
    if (logged) {
      const dir = p.cgroup === undefined ? undefined : cgroupDir(this.root, p.cgroup);
      const limitKb =
        logged.limitKb ?? (logged.cgroup && dir ? readMemoryLimitKb(this.root, dir) : undefined);
      this.consume(p.cgroup);
      return { oomKilled: true, limitKb };
    }
    if (this.kernelLog) return { oomKilled: false };
    // the counters: the cgroup read at exec, and the one the process is in now if it still exists
    const now = readCgroup(p.pid);
    for (const cgroup of new Set([p.cgroup, now])) {
      if (cgroup === undefined || !this.consume(cgroup)) continue;
      const dir = cgroupDir(this.root, cgroup);
      return { oomKilled: true, limitKb: dir === undefined ? undefined : readMemoryLimitKb(this.root, dir) };
    }
    return { oomKilled: false };
  }

  /** Stop reading the kernel log. */
  close(): void {
    this.kernelLog?.close();
    this.kernelLog = undefined;
  }

  /** One rise of the cgroup's counter since it was last read: true, and it is used up. */
  private consume(cgroup: string | undefined): boolean {
    if (cgroup === undefined) return false;
    const before = this.seen.get(cgroup);
    const dir = cgroupDir(this.root, cgroup);
    const now = dir === undefined ? undefined : readOomKills(dir);
    if (before === undefined || now === undefined || now <= before) return false;
    this.seen.set(cgroup, before + 1);
    return true;
  }
}
