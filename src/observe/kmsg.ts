/**
 * OOM kills as the kernel logs them (/dev/kmsg, printk records): the only source that names the killed
 * pid. Per kill the OOM killer prints (mm/oom_kill.c, mm/memcontrol.c), in this order:
 *   "<comm> invoked oom-killer: ..."                          (rate-limited with the lines below)
 *   "memory: usage 65536kB, limit 65536kB, failcnt 0"         (a memory cgroup's OOM; v1 and v2)
 *   "memory+swap: usage ..., limit ..., failcnt 0"            (v1 with memsw)
 *   "oom-kill:constraint=CONSTRAINT_MEMCG,...,oom_memcg=/x,task_memcg=/x,task=python3,pid=N,uid=0"
 *   "Memory cgroup out of memory: Killed process N (comm) ..." (never rate-limited; "Out of memory:" for
 *                                                               a system-wide OOM)
 * Reading needs CAP_SYSLOG when kernel.dmesg_restrict = 1 (root has it); without it the caller falls
 * back to the cgroup counters (./oom.ts). Record format (Documentation/ABI/testing/dev-kmsg):
 * "prio,seq,usec,flags[,...];message\n" followed by continuation lines that start with a space.
 * Messages hold recorded data (a comm): only the pid's digits and the kernel's own numbers are taken,
 * and only from messages that start with the kernel's wording.
 */
import { closeSync, constants, openSync, readSync } from "../../ffi/fs.ts";
import { seekEnd } from "../../ffi/libc.ts";

/** One OOM kill: the pid the kernel killed, and the limit it hit (KiB) when the log said so. */
export interface KernelOomKill {
  pid: number;
  /** the smaller of the memory and memory+swap limits of the cgroup that ran out (memory-cgroup OOM) */
  limitKb?: number;
  /** the cgroup whose limit was hit (oom_memcg), when the rate-limited header was printed */
  memcg?: string;
  /** false for a system-wide OOM (no cgroup limit) */
  cgroup: boolean;
}

const USAGE = /^(?:memory|memory\+swap): usage \d+kB, limit (\d+)kB,/;
const SUMMARY = /^oom-kill:constraint=([A-Z_]+),.*?,oom_memcg=([^,]*),.*,pid=(\d+),uid=\d+$/;
const KILLED = /^(Memory cgroup out of memory|Out of memory(?: \([a-z_]+\))?): Killed process (\d+) /;
const INVOKED = / invoked oom-killer: /;
/** no more kills than this kept unclaimed (a host with an OOM storm and nobody asking) */
const KEEP = 4096;

/** Parses printk records into OOM kills; feed it text, whole records or any chunks of them. */
export class OomLogParser {
  private readonly kills = new Map<number, KernelOomKill>();
  private limitKb: number | undefined;
  private memcg: string | undefined;
  private rest = "";

  feed(text: string): void {
    const lines = (this.rest + text).split("\n");
    this.rest = lines.pop() ?? "";
    for (const line of lines) if (line && line[0] !== " ") this.record(line);
  }

  /** The kill of `pid`, removed from what is kept. */
  take(pid: number): KernelOomKill | undefined {
    const k = this.kills.get(pid);
    if (k) this.kills.delete(pid);
    return k;
  }

  private record(line: string): void {
    const semi = line.indexOf(";");
    if (semi < 0) return;
    const msg = line.slice(semi + 1);
    if (INVOKED.test(msg)) {
      this.limitKb = undefined;
      this.memcg = undefined;
      return;
    }
    const usage = USAGE.exec(msg);
    if (usage) {
      const kb = Number(usage[1]);
      this.limitKb = this.limitKb === undefined ? kb : Math.min(this.limitKb, kb);
      return;
    }
    const summary = SUMMARY.exec(msg);
    if (summary) {
      this.memcg = summary[1] === "CONSTRAINT_MEMCG" ? summary[2] : undefined;
      return;
    }
    const killed = KILLED.exec(msg);
    if (!killed) return;
    const cgroup = killed[1] === "Memory cgroup out of memory";
    const pid = Number(killed[2]);
    this.kills.delete(pid);
    this.kills.set(pid, {
      pid,
      cgroup,
      limitKb: cgroup ? this.limitKb : undefined,
      memcg: cgroup ? this.memcg : undefined,
    });
    this.limitKb = undefined;
    this.memcg = undefined;
    for (const old of this.kills.keys()) {
      if (this.kills.size <= KEEP) break;
      this.kills.delete(old);
    }
  }
}

/** /dev/kmsg read from the moment it is opened: kills logged before that are never seen. */
export class KernelLog {
  private readonly parser = new OomLogParser();
  private readonly buf = Buffer.alloc(16384);

  private constructor(private fd: number | undefined) {}

  /** Open at the end of the log; undefined when it cannot be read (not permitted, no such device). */
  static open(path = "/dev/kmsg"): KernelLog | undefined {
    let fd: number | undefined;
    try {
      fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
      // /dev/kmsg starts at the oldest record still held; a fixture file is read from its start
      if (path === "/dev/kmsg" && !seekEnd(fd)) throw new Error("cannot seek /dev/kmsg");
      return new KernelLog(fd);
    } catch {
      if (fd !== undefined) closeSync(fd);
      return undefined;
    }
  }

  /** The OOM kill of `pid` if the log has one since it was opened (each kill is returned once). */
  oomKill(pid: number): KernelOomKill | undefined {
    this.drain();
    return this.parser.take(pid);
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  /** One record per read() on /dev/kmsg; EAGAIN at the end; EPIPE when records were overwritten. */
  private drain(): void {
    if (this.fd === undefined) return;
    for (let i = 0; i < 100_000; i++) {
      let n: number;
      try {
        n = readSync(this.fd, this.buf, 0, this.buf.length, null);
      } catch (e) {
        if ((e as { code?: string }).code === "EPIPE") continue;
        return;
      }
      if (n <= 0) return;
      this.parser.feed(this.buf.toString("latin1", 0, n));
    }
  }
}
