/**
 * A pid given on purpose to a new process once the old one was reaped (clone3 set_tid, root):
 * tests/fixtures/setpid.c makes A, reaps it, and gives its pid to B, each with its own command line,
 * exit code and CPU (wait4's rusage is the oracle). Found by an attack (2 Dec 2026): A was recorded
 * with B's CPU added (their taskstats records summed as one process's) and, with tracer's exec watcher
 * starved, with B's command line.
 */
import { afterAll, expect, test } from "bun:test";
import { cProgram } from "../helpers/bigrun.ts";
import { BIN, cleanupTemp, isolatedEnv, run } from "../helpers/harness.ts";

afterAll(cleanupTemp);

/** clone3 with set_tid works here (root, Linux 5.5+) and two CPUs for the starved case */
const can =
  Bun.spawnSync([cProgram("setpid"), "1", "1", "1"], { stdout: "ignore", stderr: "ignore" }).exitCode === 0;
const twoCpus = navigator.hardwareConcurrency >= 2;

interface Row {
  pid: number;
  argv: string[] | null;
  exitCode: number | null;
  userUs: number | null;
  systemUs: number | null;
}

async function rounds(args: string[], extraEnv: Record<string, string> = {}, cpu0 = false) {
  const env = isolatedEnv(extraEnv);
  const cmd = ["run", "--quiet", "--", cProgram("setpid"), ...args];
  const r = await run(cpu0 ? ["-c", "0", BIN, ...cmd] : cmd, { env, bin: cpu0 ? "taskset" : undefined });
  expect(r.code, r.stderr).toBe(0);
  const rep = await run(["report", "--json"], { env });
  const rows = (JSON.parse(rep.stdout) as { processes: Row[] }).processes;
  return r.stdout
    .trim()
    .split("\n")
    .map((line, i) => {
      const [a, b, ua, sa, ub, sb] = line.split(" ").map(Number);
      const mine = rows.filter((p) => p.pid === a);
      return { i, a: a!, b: b!, truthA: ua! + sa!, truthB: ub! + sb!, rows: mine };
    });
}

test.skipIf(!can)(
  "A and B with one pid 20 ms apart: each its own CPU, command line and exit code",
  async () => {
    const got = await rounds(["6", "20", "40"]);
    expect(got.length).toBe(6);
    for (const g of got) {
      expect(g.b).toBe(g.a);
      const a = g.rows.find((p) => p.exitCode === 3);
      const b = g.rows.find((p) => p.exitCode === 5);
      const what = JSON.stringify(g);
      // never the other one's command line
      for (const p of g.rows) if (p.argv) expect(p.argv[1]?.[0], what).toBe(p.exitCode === 3 ? "A" : "B");
      // A's CPU was A's and B's summed (58 ms for 20 + 40); B's, taskstats' alone (the ledger does not
      // follow a pid taken within 100 ms), never above rusage
      if (a?.userUs != null) expect(a.userUs + a.systemUs!, what).toBeLessThanOrEqual(g.truthA + 1000);
      if (b?.userUs != null) expect(b.userUs + b.systemUs!, what).toBeLessThanOrEqual(g.truthB + 1000);
      // both rows: ±2 ticks of A's fork let B (21 ms later) pass as A when A's fork was read, A took B's
      // start ticks and lost its row to B's (in 4 of 6 runs)
      expect(a, what).toBeDefined();
      expect(b, what).toBeDefined();
    }
  },
  60_000,
);

test.skipIf(!can || !twoCpus)(
  "the exec watcher starved until B has A's pid: A is never recorded with B's command line",
  async () => {
    // tracer on CPU 0 under a SCHED_FIFO 10 spinner; the workload on CPU 1: the thread reads A's
    // exec once B runs under the pid (10 of 10 wrong before, kernel reader on: its ring filled by
    // 40 KB command lines is not needed here, the thread reads A's exec before the reader attaches)
    for (const env of [{ TRACER_NO_KERNEL_ARGV: "1" }, {}] as Record<string, string>[]) {
      const got = await rounds(["4", "20", "150", "120"], env, true);
      for (const g of got)
        for (const p of g.rows)
          if (p.argv) expect(p.argv[1]?.[0], JSON.stringify(g)).toBe(p.exitCode === 3 ? "A" : "B");
    }
  },
  120_000,
);
