/**
 * A CPU-accounting cgroup for tests: a truth for CPU time independent of wait4's rusage and of tracer
 * (cgroup v1 cpuacct.usage, v2 cpu.stat usage_usec — the kernel charges the group beside every
 * sum_exec_runtime update, so it counts what rusage leaves out: the running slice of a thread at the
 * moment its counters are folded into its process's, in exit_notify). Root only; a process joins with
 * tests/fixtures/cgjoin.c.
 */
import { existsSync, mkdirSync, readFileSync, rmdirSync } from "node:fs";
import { join } from "node:path";
import { tempDir } from "./harness.ts";

const V1 = "/sys/fs/cgroup/cpuacct";
const V2 = "/sys/fs/cgroup";

/** Where test groups can be made here, or undefined (not root, no cgroup file system). */
export function cpuacctRoot(): { dir: string; v2: boolean } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  if (existsSync(join(V1, "cpuacct.usage"))) return { dir: V1, v2: false };
  if (existsSync(join(V2, "cgroup.controllers"))) return { dir: V2, v2: true };
  return undefined;
}

let made = 0;

/** A CPU-accounting group made by cpuacctGroup. */
export interface CpuGroup {
  /** `cgjoin PROCS CPU_FILE CMD…` (tests/fixtures/cgjoin.c) runs CMD in the group */
  join: string;
  /** the group's CPU so far, ns */
  usageNs: () => number;
  /**
   * The joined process's CPU outside the group (its start before cgjoin's write), ns: at least
   * `min`, at most `max` (its CPU clock read just before and just after the write).
   */
  outsideNs: () => { min: number; max: number };
  remove: () => void;
}

/** A new empty group. */
export function cpuacctGroup(): CpuGroup {
  const root = cpuacctRoot();
  if (!root) throw new Error("no cgroup CPU accounting here");
  const dir = join(root.dir, `tracer-test-${process.pid}-${made++}`);
  mkdirSync(dir);
  const cpuFile = join(tempDir(), "cgjoin-cpu");
  return {
    join: `${join(dir, root.v2 ? "cgroup.procs" : "tasks")} ${cpuFile}`,
    usageNs: () => {
      if (!root.v2) return Number(readFileSync(join(dir, "cpuacct.usage"), "latin1").trim());
      const m = /^usage_usec (\d+)$/m.exec(readFileSync(join(dir, "cpu.stat"), "latin1"));
      if (!m) throw new Error(`no usage_usec in ${dir}/cpu.stat`);
      return Number(m[1]) * 1000;
    },
    outsideNs: () => {
      const m = /^(\d+) (\d+)\n$/.exec(readFileSync(cpuFile, "latin1"));
      if (!m) throw new Error(`cgjoin wrote no CPU figures to ${cpuFile}`);
      return { min: Number(m[1]), max: Number(m[2]) };
    },
    remove: () => rmdirSync(dir),
  };
}
