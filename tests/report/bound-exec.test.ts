/**
 * The "at most" memory bound and a process that became another program at its end: a shell that
 * started two ~100 MiB jobs, waited, then exec'd a ~150 MiB one held a few MiB while the two ran. The
 * bound counted the 150 MiB over the shell's whole life, beside both jobs (found by a newcomer: 377
 * MiB for a true ~220). Now the span before the shell's last exec counts the peak of the images that
 * exec replaced (the scheduler ledger's signal->maxrss), the span after it its own.
 */
import { afterAll, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { StepProcess } from "../../src/steps/index.ts";
import { peakRssUpperBound, smallUpperBound, sweepUpperBound } from "../../src/steps/_rollup.ts";
import { cProgram } from "../helpers/bigrun.ts";
import { BIN, cleanupTemp, isolatedEnv, tempDir } from "../helpers/harness.ts";

afterAll(cleanupTemp);

const MiB = 1024 * 1024;

test("a shell that exec'd a 150 MiB program after two 100 MiB jobs: at most ~2 × 100 MiB + the shell, not + 150", () => {
  const dir = tempDir();
  // touches every page, then holds it: ru_maxrss of each is its MiB + python's own (~10 MiB)
  writeFileSync(
    join(dir, "mem.py"),
    "import sys, time\nx = bytearray(int(sys.argv[1]) * 1024 * 1024)\nfor i in range(0, len(x), 4096): x[i] = 1\ntime.sleep(float(sys.argv[2]))\n",
  );
  const env = isolatedEnv();
  // the shell is CMD's child, followed from its fork: the images its exec replaced are known exactly
  // (CMD itself began as tracer's vfork: for it only a bound on tracer's own peak is known)
  const jobs =
    "/usr/bin/python3 mem.py 100 1.0 & /usr/bin/python3 mem.py 100 1.0 & wait; /usr/bin/python3 mem.py 150 0.1";
  const run = Bun.spawnSync(
    [BIN, "run", "--quiet", "--name", "mem", "--", "sh", "-c", `bash -c '${jobs}'; true`],
    {
      env,
      cwd: dir,
      stdout: "pipe",
      stderr: "pipe",
    },
  );
  expect(run.exitCode).toBe(0);
  const rep = Bun.spawnSync([BIN, "report", "mem", "--format", "json"], {
    env,
    stdout: "pipe",
    stderr: "pipe",
  });
  const totals = (
    JSON.parse(rep.stdout.toString()) as { totals: { peak_rss_upper_bytes: number; peak_rss_bytes: number } }
  ).totals;
  // the two jobs together (each ≤ 100 MiB + python's ~10–15), the shell and sh: under 240 MiB (it was
  // 150 + 2 × 110 + …: 377 MiB); the 150 MiB program alone: above 150
  expect(totals.peak_rss_upper_bytes).toBeLessThan(240 * MiB);
  expect(totals.peak_rss_upper_bytes).toBeGreaterThan(150 * MiB);
  expect(totals.peak_rss_upper_bytes).toBeGreaterThanOrEqual(totals.peak_rss_bytes);
}, 60_000);

test("the quadratic path and the sweep agree on split lifetimes", () => {
  const p = (id: number, o: Partial<StepProcess>): StepProcess =>
    ({
      id,
      pid: id,
      parentId: null,
      argv: null,
      comm: null,
      cwd: null,
      exitCode: 0,
      signal: null,
      oomKilled: false,
      ...o,
    }) as StepProcess;
  const procs = [
    p(1, { startedAt: 0, endedAt: 100, peakRssKb: 150, execAt: 60, execPeakRssKb: 3 }),
    p(2, { startedAt: 10, endedAt: 50, peakRssKb: 100 }),
    p(3, { startedAt: 10, endedAt: 59, peakRssKb: 100 }),
    p(4, { startedAt: 60, endedAt: 70, peakRssKb: 5 }),
  ];
  // 3 + 100 + 100 while the jobs run; 150 + 5 after the exec
  expect(smallUpperBound(procs)).toBe(203);
  expect(sweepUpperBound(procs)).toBe(203);
  expect(peakRssUpperBound(procs)).toBe(203);
  // the exec's images peaked higher than its own: one span at the larger figure, as before
  const higher = [
    p(1, { startedAt: 0, endedAt: 100, peakRssKb: 150, execAt: 60, execPeakRssKb: 150 }),
    procs[1]!,
  ];
  expect(smallUpperBound(higher)).toBe(250);
  expect(sweepUpperBound(higher)).toBe(250);
  // the images before the exec only bounded above its last one's peak (a vfork child's earlier image:
  // at most its parent's peak): that span counts the bound, beside the job alive then
  const bounded = [
    p(1, { startedAt: 0, endedAt: 100, peakRssKb: 150, execAt: 60, execPeakRssKb: 200 }),
    procs[1]!,
  ];
  expect(smallUpperBound(bounded)).toBe(300);
  expect(sweepUpperBound(bounded)).toBe(300);
});

test("a vfork child's earlier image, under a smaller last one: its step's peak is a bound, never an exact figure below the truth", () => {
  // tests/fixtures/spawnmem.c: a 100 MiB parent posix_spawns a child that touches 30 MiB, says its own
  // peak (VmHWM), then execs `true`. The kernel's maxrss for the child is the parent's peak from its
  // first exec on: the 30 MiB image's peak is known to no figure. Its step showed an exact 1.1 MiB (an
  // attack, 2 Dec 2026: 3 of 3)
  const dir = tempDir();
  const env = isolatedEnv();
  const hwm = join(dir, "hwm");
  const run = Bun.spawnSync(
    [BIN, "run", "--quiet", "--name", "spawn", "--", cProgram("spawnmem"), "100", "30", hwm],
    {
      env,
      stderr: "pipe",
    },
  );
  expect(run.exitCode, run.stderr.toString()).toBe(0);
  const truthKb = Number(readFileSync(hwm, "utf8").trim());
  expect(truthKb).toBeGreaterThan(30 * 1024);
  const rep = Bun.spawnSync([BIN, "report", "spawn", "--format", "json"], { env, stdout: "pipe" });
  type Peak = { peak_rss_bytes: number; peak_rss_upper_bytes: number; peak_rss_exact: boolean };
  const out = JSON.parse(rep.stdout.toString()) as { steps: (Peak & { name: string })[]; totals: Peak };
  const child = out.steps.find((s) => s.name === "true")!;
  expect(child.peak_rss_exact).toBe(false);
  expect(child.peak_rss_upper_bytes).toBeGreaterThanOrEqual(truthKb * 1024);
  // the parent, CMD, exec'd once (from tracer's vfork): its own peak, exact
  const parent = out.steps.find((s) => s.name === "spawnmem")!;
  expect(parent.peak_rss_exact).toBe(true);
  expect(out.totals.peak_rss_upper_bytes).toBeGreaterThanOrEqual(parent.peak_rss_bytes + truthKb * 1024);
}, 60_000);

test("a process whose peak is unknown (still running when CMD ended): no upper bound, never an 'at most' below it", () => {
  // a 200 MiB child left running when CMD exits: its peak is never recorded, and the run said
  // "3.2MiB sampled, at most 15MiB", peak_rss_exact in JSON true in one shape (an attack, 2 Dec 2026)
  const env = isolatedEnv();
  const run = Bun.spawnSync(
    [
      BIN,
      "run",
      "--quiet",
      "--name",
      "left",
      "--",
      "sh",
      "-c",
      '(python3 -c "b = bytearray(200 << 20); import time; time.sleep(1.5)" &); sleep 0.6',
    ],
    { env, stderr: "pipe" },
  );
  expect(run.exitCode, run.stderr.toString()).toBe(0);
  const rep = Bun.spawnSync([BIN, "report", "left", "--format", "json"], { env, stdout: "pipe" });
  type Peak = { peak_rss_bytes: number; peak_rss_upper_bytes: number | null; peak_rss_exact: boolean };
  const totals = (JSON.parse(rep.stdout.toString()) as { totals: Peak }).totals;
  expect(totals.peak_rss_exact).toBe(false);
  expect(totals.peak_rss_upper_bytes).toBeNull();
  const table = Bun.spawnSync([BIN, "report", "left"], { env, stdout: "pipe" }).stdout.toString();
  expect(table).toMatch(/^totals .*peak memory ≥[\d.]+\w?i?B$/m);
}, 60_000);
