/**
 * The exec watcher is ready when ExecWatcher.start returns: its thread already runs at its real-time
 * priority, so a command spawned at once (as `tracer run` spawns CMD) that forks and execs 10 short
 * processes first (tests/fixtures/burst.c) has all 11 execs read. With a thread created at normal
 * priority that raised itself to SCHED_FIFO only once it first ran, and no wait for it, 1 to 3+ of 100
 * runs missed 1–4 execs (3 of 3 times on this 2-core host).
 *
 * The first test checks that directly: right after start returns, this process has one more thread at
 * SCHED_FIFO priority 2. The second runs the burst. This host is a VM whose hypervisor takes a vCPU
 * away now and then (steal time, /proc/stat): at a noisy hour on 29 Nov 2026, 12–27 % of 300 runs
 * missed an exec, 40–48 % of the runs during which steal time was counted and 7–11 % of the others
 * (it is counted in 10 ms ticks: shorter steals do not show), on the build of the day before as on
 * this one (in a full suite at a noisier time, 20 runs needed 32 repeated attempts). So a run
 * that misses an exec is run again, up to 10 times in all; a watcher without real-time priority misses
 * in nearly every run (at nice -10, 1–7 of the 10 children).
 */
import { expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { ExecWatcher } from "../../src/observe/execwatch.ts";
import { cProgram } from "../helpers/bigrun.ts";

const probe = ExecWatcher.start(process.pid);
probe?.stop();
if (!probe) console.warn("skipping: the exec watcher needs the proc connector (root) and TinyCC");

/** this process's threads at SCHED_FIFO priority 2 (the watcher's): /proc/self/task/TID/stat fields 40, 41 */
function fifo2Threads(): number {
  let n = 0;
  for (const tid of readdirSync("/proc/self/task")) {
    try {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, "utf8");
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" "); // f[0] is field 3
      if (f[37] === "2" && f[38] === "1") n++;
    } catch {} // a thread that ended meanwhile
  }
  return n;
}

test.skipIf(!probe || process.getuid?.() !== 0)(
  "on return from start its thread runs at SCHED_FIFO priority 2",
  () => {
    const before = fifo2Threads();
    const after: number[] = [];
    for (let i = 0; i < 20; i++) {
      const w = ExecWatcher.start(process.pid)!;
      after.push(fifo2Threads());
      w.stop();
    }
    expect(after).toEqual(Array(20).fill(before + 1));
  },
);

test.skipIf(!probe)(
  "a command spawned right after start has every exec of its first millisecond read (a run is repeated up to 10 times)",
  async () => {
    const burst = cProgram("burst");
    const all = Array.from({ length: 10 }, (_, i) => `exit ${i + 1}`);
    /** per run: what each attempt missed */
    const failed: { run: number; attempts: string[][] }[] = [];
    let repeated = 0;
    for (let run = 0; run < 5; run++) {
      const attempts: string[][] = [];
      for (let attempt = 0; attempt < 10; attempt++) {
        const w = ExecWatcher.start(process.pid)!;
        try {
          const p = Bun.spawn([burst], { stdio: ["ignore", "ignore", "ignore"] });
          await p.exited;
          // burst itself and its 10 `sh -c "exit I"` children; any other exec of this test process's
          // tree at the time (a child an earlier test file left running) is not counted
          const seen = [...w.remembered().values()];
          const shells = new Set(seen.filter((e) => e.argv[0] === "/bin/sh").map((e) => e.argv[2]));
          const missing = all.filter((c) => !shells.has(c));
          if (w.lookup(p.pid)?.argv[0] !== burst) missing.unshift("burst");
          attempts.push(missing);
          if (!missing.length) break;
        } finally {
          w.stop();
        }
      }
      repeated += attempts.length - 1;
      if (attempts.at(-1)!.length) failed.push({ run, attempts });
    }
    console.log(`5 runs of the burst: ${repeated} attempt(s) repeated after a missed exec`);
    expect(failed).toEqual([]);
  },
  60_000,
);
