/**
 * Threads of a process at SCHED_FIFO priority 2 (the exec watcher's, ffi/execwatch.c), from
 * /proc/PID/task/TID/stat fields 40 (rt_priority) and 41 (policy, 1 = SCHED_FIFO).
 */
import { readdirSync, readFileSync } from "node:fs";

/** `stat`: the text of one /proc/PID/task/TID/stat; true for a SCHED_FIFO priority-2 thread */
export function isFifo2(stat: string): boolean {
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" "); // f[0] is field 3
  return f[37] === "2" && f[38] === "1";
}

export function fifo2Threads(pid: number | "self" = "self"): number {
  let n = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      if (isFifo2(readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8"))) n++;
    } catch {} // a thread that ended meanwhile
  }
  return n;
}
