/**
 * OOM-kill detection: a process killed by SIGKILL while the `oom_kill` counter of its memory cgroup rose
 * was killed by the OOM killer. cgroup v2: memory.events; v1: memory.oom_control (kernel ≥ 4.13).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";

const ROOTS = ["/sys/fs/cgroup", "/sys/fs/cgroup/memory", "/sys/fs/cgroup/unified"];

function counterFiles(cgroup: string): string[] {
  const out: string[] = [];
  for (const root of ROOTS)
    for (const dir of [join(root, cgroup), root]) {
      out.push(join(dir, "memory.events"), join(dir, "memory.oom_control"));
    }
  return out;
}

/** The oom_kill counter for a cgroup path (as in /proc/PID/cgroup), or undefined when unreadable. */
export function readOomKills(cgroup: string): number | undefined {
  for (const f of counterFiles(cgroup)) {
    try {
      const m = /^oom_kill (\d+)$/m.exec(readFileSync(f, "latin1"));
      if (m) return Number(m[1]);
    } catch {}
  }
  return undefined;
}

/** Remembers each cgroup's counter; `killedByOom` consumes one rise per SIGKILLed process. */
export class OomWatch {
  private seen = new Map<string, number>();

  /** Record the counter before any process of this cgroup can die (call at identification). */
  watch(cgroup: string | undefined): void {
    if (cgroup === undefined || this.seen.has(cgroup)) return;
    const n = readOomKills(cgroup);
    if (n !== undefined) this.seen.set(cgroup, n);
  }

  killedByOom(cgroup: string | undefined, signal: number | undefined): boolean {
    if (signal !== 9 || cgroup === undefined) return false;
    const before = this.seen.get(cgroup);
    const now = readOomKills(cgroup);
    if (before === undefined || now === undefined || now <= before) return false;
    this.seen.set(cgroup, before + 1);
    return true;
  }
}
