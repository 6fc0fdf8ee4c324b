/**
 * The exec watcher is ready when ExecWatcher.start returns: its thread already runs at its real-time
 * priority, so a command spawned at once (as `tracer run` spawns CMD) that forks and execs 10 short
 * processes first (tests/fixtures/burst.c) has all 11 execs read. With a thread created at normal
 * priority that raised itself to SCHED_FIFO only once it first ran, and no wait for it, 1 to 3+ of 100
 * runs missed 1–4 execs (3 of 3 times on this 2-core host).
 *
 * The first test checks that directly: right after start returns, a process pinned to one CPU has one
 * more thread at SCHED_FIFO priority 2 (./_readiness-probe.ts). The second runs the burst. This host is
 * a VM whose hypervisor takes a vCPU away now and then (steal time, /proc/stat): at a noisy hour on
 * 29 Nov 2026, 12–27 % of 300 runs missed an exec, 40–48 % of the runs during which steal time was
 * counted and 7–11 % of the others (it is counted in 10 ms ticks: shorter steals do not show), on the
 * build of the day before as on this one; in full suites at noisier times 20 runs needed 32 repeated
 * attempts, and 5 runs 12 (a miss in ~70 % of attempts). So a run that misses an exec is run again, up
 * to 20 times in all; a watcher without real-time priority misses in nearly every run (at nice -10,
 * 1–7 of the 10 children), and the first test and tests/run/first-ms.test.ts catch it directly.
 */
import { expect, test } from "bun:test";
import { join } from "node:path";
import { ExecWatcher } from "../../src/observe/execwatch.ts";
import { cProgram } from "../helpers/bigrun.ts";
import { run } from "../helpers/harness.ts";

const probe = ExecWatcher.start(process.pid);
probe?.stop();
if (!probe) console.warn("skipping: the exec watcher needs the proc connector (root) and TinyCC");

test.skipIf(!probe || process.getuid?.() !== 0)(
  "on return from start its thread runs at SCHED_FIFO priority 2 (20 starts, pinned to one CPU)",
  async () => {
    // pinned: on a free second core a thread that made itself real-time once it ran would be so by the
    // time this looks, even if start did not wait for it (unpinned, that mutant was caught 1 run in 4)
    const r = await run(["-c", "0", process.execPath, join(import.meta.dir, "_readiness-probe.ts")], {
      bin: "taskset",
    });
    expect({ code: r.code, err: r.stderr }).toEqual({ code: 0, err: "" });
    const { before, after } = JSON.parse(r.stdout) as { before: number; after: number[] };
    expect(after).toEqual(Array(20).fill(before + 1));
  },
  30_000,
);

test.skipIf(!probe)(
  "a command spawned right after start has every exec of its first millisecond read (3 runs, each repeated up to 20 times)",
  async () => {
    const burst = cProgram("burst");
    const all = Array.from({ length: 10 }, (_, i) => `exit ${i + 1}`);
    /** per run: what each attempt missed */
    const failed: { run: number; attempts: string[][] }[] = [];
    let repeated = 0;
    for (let run = 0; run < 3; run++) {
      const attempts: string[][] = [];
      for (let attempt = 0; attempt < 20; attempt++) {
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
    console.log(`3 runs of the burst: ${repeated} attempt(s) repeated after a missed exec`);
    expect(failed).toEqual([]);
  },
  60_000,
);
