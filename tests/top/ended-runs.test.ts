/**
 * `tracer top RUN` into a pipe on runs no longer recorded: a run whose recorder was killed (SIGKILL, its
 * children left running) and a finished run whose CMD left a process running. The store follows no
 * process of such a run, so none is shown live, and its times stop at the last recorded data: two
 * snapshots taken seconds apart show the same elapsed times.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { BIN, cleanupTemp, ensureBuilt, isolatedEnv, run, tempDir, waitFor } from "../helpers/harness.ts";

beforeAll(ensureBuilt);

const leftovers: number[] = [];
afterAll(() => {
  for (const pid of leftovers) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {}
  }
  cleanupTemp();
});

/** every descendant of `pid` now, from /proc */
function descendants(pid: number): number[] {
  const parent = new Map<number, number>();
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, "utf8");
      parent.set(Number(d), Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]));
    } catch {}
  }
  const out: number[] = [];
  const todo = [pid];
  while (todo.length) {
    const p = todo.pop()!;
    for (const [c, pp] of parent)
      if (pp === p) {
        out.push(c);
        todo.push(c);
      }
  }
  return out;
}

/** the run line's time, the processes line and each step row's STATE and ELAPSED cells */
function figures(out: string) {
  const lines = out.split("\n");
  const runTime = /· (interrupted after|done in) (\S+)/.exec(out)?.[2];
  const procs = lines.find((l) => l.startsWith("steps "));
  const steps = lines
    .filter((l) => /^\s+\d+\s+\S+\s+(running|unfinished|done|failed)\s/.test(l))
    .map((l) => l.trim().split(/\s+/).slice(1, 4).join(" "))
    .sort();
  if (!runTime || !procs || !steps.length) throw new Error(`unexpected top output:\n${out}`);
  return { runTime, procs, steps };
}

test("a run whose recorder was SIGKILLed: no process live, times stop at the newest recorded data", async () => {
  const env = isolatedEnv();
  const rec = Bun.spawn([BIN, "run", "--name", "killed9", "--", "sh", "-c", "sleep 60 & sleep 60"], {
    env,
    stdio: ["ignore", "ignore", "ignore"],
  });
  // recorded: the shell and both sleeps, with a sample or two
  await waitFor(
    async () => /processes 3 /.test((await run(["top", "killed9"], { env })).stdout),
    15_000,
    "the run's three processes in the store",
  );
  await Bun.sleep(1500);
  leftovers.push(...descendants(rec.pid));
  rec.kill("SIGKILL");
  await rec.exited;
  const first = await run(["top", "killed9"], { env });
  expect(first.code).toBe(0);
  expect(first.stdout).toContain("interrupted after");
  const a = figures(first.stdout);
  expect(a.procs).toContain("processes 3 (0 live · 3 with no end recorded, not followed");
  expect(a.steps.every((s) => s.includes("unfinished"))).toBe(true);
  // seconds later the same figures: nothing is counted on from now
  await Bun.sleep(2200);
  const second = await run(["top", "killed9"], { env });
  expect(figures(second.stdout)).toEqual(a);
  expect(second.stdout).not.toMatch(/\(\d+ live\)/);
}, 40_000);

test("a finished run whose CMD left a process running: it is not live, its step's time stops at the run's end", async () => {
  const env = isolatedEnv();
  const pidFile = join(tempDir(), "pid");
  const rec = await run(
    // CMD ends once its child runs sleep (not before its exec: on a loaded host the exec could come after
    // the run's end, and the leftover would be a fork of sh); `read` is the shell's own, no process
    [
      "run",
      "--name",
      "left",
      "--",
      "sh",
      "-c",
      `sleep 30 >/dev/null 2>&1 & echo $! > '${pidFile}'; until read c < /proc/$!/comm && [ "$c" = sleep ]; do :; done`,
    ],
    {
      env,
    },
  );
  expect(rec.code).toBe(0);
  leftovers.push(Number(readFileSync(pidFile, "utf8")));
  const first = await run(["top", "left"], { env });
  expect(first.code).toBe(0);
  const a = figures(first.stdout);
  expect(a.procs).toContain("processes 2 (0 live · 1 with no end recorded, not followed");
  expect(a.steps.some((s) => /^sleep unfinished \d+ms$/.test(s))).toBe(true);
  await Bun.sleep(2200);
  expect(figures((await run(["top", "left"], { env })).stdout)).toEqual(a);
}, 30_000);
