/**
 * Capture is complete from CMD's first instant: a CMD that forks and execs 10 processes before anything
 * else (tests/fixtures/burst.c) has all 10 recorded with their argv and exit status, whatever tracer
 * does at start-up and in whichever order.
 *
 * Each `sh -c` child lives well under a millisecond, so its argv comes from the exec watcher
 * (ffi/execwatch.c), which must be running at real-time priority when CMD starts: at nice -10 1–7 of
 * the 10 ended before it read them (measured on this 2-core host, Nov 2026). It is started before CMD
 * and xw_start returns only once its thread runs at its priority.
 *
 * This host is a VM whose hypervisor takes a vCPU away now and then (steal time): then an exec can go
 * unread whatever tracer does (tests/observe/execwatch-start.test.ts has the figures; 2 of 5 CI runs on
 * 29 Nov 2026 missed one `sh -c` argv of the 30). A round with an argv missing is run again, up to 10
 * times in all; the exit statuses, which do not depend on timing, must be exact in every attempt, and
 * the watcher's real-time thread is checked directly in the binary while CMD runs.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { probeExecWatch } from "../../src/observe/execwatch.ts";
import { cProgram } from "../helpers/bigrun.ts";
import { cleanupTemp, isolatedEnv, run } from "../helpers/harness.ts";
import { isFifo2 } from "../observe/_fifo-threads.ts";

afterAll(cleanupTemp);

interface Proc {
  argv: string[] | null;
  comm: string | null;
  exitCode: number | null;
}

// argv of processes this short needs the exec watcher (root: the proc connector, a real-time thread)
const watcher = probeExecWatch();
if (!watcher.available) console.warn(`argv not asserted: no exec watcher (${watcher.reason})`);

/** the `sh -c` children of each attempt of each of 3 rounds of the burst */
const rounds: Proc[][][] = [];

beforeAll(async () => {
  const burst = cProgram("burst");
  for (let round = 0; round < 3; round++) {
    const attempts: Proc[][] = [];
    for (let attempt = 0; attempt < 10; attempt++) {
      const env = isolatedEnv();
      const r = await run(["run", "--quiet", "--", burst], { env });
      expect(r.code).toBe(0);
      const rep = await run(["report", "--json"], { env });
      const { processes } = JSON.parse(rep.stdout) as { processes: Proc[] };
      const shells = processes.filter((p) => p.comm === "sh" || p.argv?.[0] === "/bin/sh");
      attempts.push(shells);
      if (!watcher.available || (shells.length === 10 && shells.every((p) => p.argv))) break;
    }
    if (attempts.length > 1) console.log(`round ${round}: ${attempts.length} attempts (an argv missed)`);
    rounds.push(attempts);
  }
}, 180_000);

test("10 processes exec'd in CMD's first millisecond: all recorded with their exit status", () => {
  expect(rounds).toHaveLength(3);
  for (const shells of rounds.flat())
    expect(shells.map((p) => p.exitCode).sort((a, b) => a! - b!)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
});

test.skipIf(!watcher.available)("… and each with its own argv (a round is repeated up to 10 times)", () => {
  expect(rounds).toHaveLength(3);
  for (const shells of rounds.map((attempts) => attempts.at(-1)!)) {
    expect(shells).toHaveLength(10);
    for (const p of shells) expect(p.argv).toEqual(["/bin/sh", "-c", `exit ${p.exitCode}`]);
  }
});

// the repeats above would hide a watcher that never gets real-time priority (at nice -10 a round
// still completes within a few attempts): the binary's own thread is checked while CMD runs
test.skipIf(!watcher.available || process.getuid?.() !== 0)(
  "while CMD runs, tracer has its exec watcher's SCHED_FIFO priority-2 thread",
  async () => {
    // a thread may end between the glob and its read (the ledger's opener, a detached thread, often
    // does while CMD runs): its read fails, the rest still counts, CMD exits 0
    const r = await run(
      ["run", "--quiet", "--", "sh", "-c", "cat /proc/$PPID/task/*/stat 2>/dev/null; true"],
      {
        env: isolatedEnv(),
      },
    );
    expect(r.code).toBe(0);
    const threads = r.stdout.split("\n").filter((l) => l.includes(")"));
    expect({ threads: threads.length > 1, fifo2: threads.filter(isFifo2).length }).toEqual({
      threads: true,
      fifo2: 1,
    });
  },
);
