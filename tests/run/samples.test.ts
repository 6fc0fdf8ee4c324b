/** Live samples: `--interval 0.1` samples a busy step's CPU %, RSS and I/O, and the host's metrics, into the store. */
import { afterAll, expect, test } from "bun:test";
import { cProgram } from "../helpers/bigrun.ts";
import { cleanupTemp, isolatedEnv, run } from "../helpers/harness.ts";
import { PY, openDb } from "./_helpers.ts";

afterAll(cleanupTemp);

/**
 * The samples' CPU % × the wall time each covers, summed, against the process's own CPU clock `cpuMs`
 * printed at `wallAt` (epoch ms) just before it exits, within the bounds the next comment derives; at
 * least 5 samples.
 */
function expectSampledCpu(
  rows: { at: number; cpu: number }[],
  startedAt: number,
  cpuMs: number,
  wallAt: number,
) {
  const span = `${rows.length} samples over ${((rows.at(-1)?.at ?? startedAt) - startedAt).toFixed(0)} ms`;
  expect({ span, ok: rows.length >= 5 }).toEqual({ span, ok: true });
  let sampledMs = 0;
  let prev = startedAt;
  for (const x of rows) {
    expect(x.cpu).toBeGreaterThanOrEqual(0);
    sampledMs += (x.cpu / 100) * (x.at - prev);
    prev = x.at;
  }
  const after = Math.max(0, wallAt - rows.at(-1)!.at); // wall time from the last sample to the print
  const ticks = 20; // ms: utime and stime are each cut to 1/CLK_TCK s
  const exit = 20; // ms: CPU the process may use after the print (the kernel frees its memory at exit)
  const detail = `sampled ${sampledMs.toFixed(1)} ms of CPU, the process's clock ${cpuMs.toFixed(1)} ms, last sample ${after.toFixed(1)} ms before its print`;
  console.log(`${span}: ${detail}`);
  expect({ detail, ok: sampledMs <= cpuMs + exit }).toEqual({ detail, ok: true });
  expect({ detail, ok: sampledMs >= cpuMs - after - ticks - 1 }).toEqual({ detail, ok: true });
}

/**
 * What a sample's CPU % must be, whatever the load: Δ(utime+stime) of the process over the wall time
 * since its previous sample (or since it started). So the samples' CPU % × interval, summed, is the
 * CPU time the process had used at its last sample (/proc's utime+stime: the exact runtime cut to
 * 10 ms ticks). The oracle is the process's own exact clock (CLOCK_PROCESS_CPUTIME_ID), which it prints
 * with the wall time just before it exits: the sum is at most that plus its exit, and short of it by
 * no more than the CPU it could use after the last sample (one thread: at most the wall time) and the
 * ticks. Not tracer's final figure: taskstats' utime/stime are tick-sampled (250 Hz here; 748 ms were
 * reported for a loop that had used ≥ 800 ms at load 27). A spinning loop's CPU % itself depends on
 * how many share the 2 cores (9.9 % at load 19), so the loop spins until it has used 0.8 s of its own
 * CPU time rather than for 1 s of wall time.
 */
test("a busy step sampled every 0.1 s: its samples' CPU % adds up to its CPU time, its RSS, system metrics beside", async () => {
  const env = isolatedEnv();
  const busy = [
    "import os, time",
    "b = bytearray(30 << 20)",
    "b[::4096] = b'x' * len(b[::4096])",
    "while time.process_time() < 0.8: pass",
    "os.write(1, f'{time.process_time() * 1000} {time.time() * 1000}'.encode())",
    "os._exit(0)",
  ].join("\n");
  const r = await run(["run", "--quiet", "--interval", "0.1", "--", PY, "-c", busy], { env });
  expect(r.code).toBe(0);
  const [cpuMs, wallAt] = r.stdout.split(" ").map(Number) as [number, number];
  expect(cpuMs).toBeGreaterThanOrEqual(800);
  const db = openDb(env);
  const procs = db
    .query("SELECT id, started_at AS startedAt FROM processes WHERE argv LIKE '%bytearray%'")
    .all() as { id: number; startedAt: number }[];
  expect(procs).toHaveLength(1);
  const rows = db
    .query("SELECT at, cpu_pct AS cpu, rss_kb AS rss FROM samples WHERE process_id = ? ORDER BY at")
    .all(procs[0]!.id) as { at: number; cpu: number; rss: number }[];
  const metrics = db.query("SELECT cpu_pct, mem_total_kb, load1 FROM system_metrics ORDER BY at").all() as {
    cpu_pct: number | null;
    mem_total_kb: number;
  }[];
  db.close();
  expectSampledCpu(rows, procs[0]!.startedAt, cpuMs, wallAt);
  expect(Math.max(...rows.map((x) => x.rss))).toBeGreaterThan(30 * 1024);
  expect(metrics.length).toBeGreaterThanOrEqual(5);
  expect(metrics.every((m) => m.mem_total_kb > 0)).toBe(true);
  // a reading with none earlier to compare with (the first), or none a clock tick apart (the host's
  // /proc/stat had not moved: a loaded guest), is unknown (null), never a made-up 0; most are known
  const known = metrics.slice(1).filter((m) => m.cpu_pct !== null);
  expect(known.length).toBeGreaterThanOrEqual(Math.ceil((metrics.length - 1) / 2));
  for (const m of known) {
    expect(m.cpu_pct!).toBeGreaterThanOrEqual(0);
    expect(m.cpu_pct!).toBeLessThanOrEqual(100);
  }
});

// A process whose main thread has exited (pthread_exit in main) while another runs: its leader is a
// zombie, whose stat says rss 0 and whose status has no memory lines. It was skipped as ended: no
// sample in its whole life. Its stat still holds the whole process's CPU; its memory is a live thread's.
test("a process whose main thread exited while a worker runs is still sampled: CPU % adds up to its clock, RSS from the worker", async () => {
  const env = isolatedEnv();
  const r = await run(["run", "--quiet", "--interval", "0.1", "--", cProgram("leader-exits")], { env });
  expect(r.code).toBe(0);
  const [cpuMs, wallAt] = r.stdout.split(" ").map(Number) as [number, number];
  expect(cpuMs).toBeGreaterThanOrEqual(800);
  const db = openDb(env);
  const procs = db
    .query("SELECT id, started_at AS startedAt FROM processes WHERE comm = 'leader-exits'")
    .all() as { id: number; startedAt: number }[];
  expect(procs).toHaveLength(1);
  const rows = db
    .query("SELECT at, cpu_pct AS cpu, rss_kb AS rss FROM samples WHERE process_id = ? ORDER BY at")
    .all(procs[0]!.id) as { at: number; cpu: number; rss: number }[];
  db.close();
  expectSampledCpu(rows, procs[0]!.startedAt, cpuMs, wallAt);
  // the worker's 40 MiB, touched before it spins
  expect(Math.max(...rows.map((x) => x.rss))).toBeGreaterThan(40 * 1024);
});

test("--interval out of range is a usage error (2)", async () => {
  const r = await run(["run", "--interval", "0", "--", "true"], { env: isolatedEnv() });
  expect(r.code).toBe(2);
  expect(r.stderr).toContain("--interval");
});

// /proc/PID/io adds the counters of every child a process reaped (the kernel folds them into the
// parent's). A shell sampled after waiting for a 1 MB writer was charged its bytes: the sample's
// figure is kept while the process lives and only raised at its exit, so the megabyte counted twice.
test("a parent sampled after reaping a writer is not charged with the writer's bytes", async () => {
  const env = isolatedEnv();
  const r = await run(
    [
      "run",
      "--quiet",
      "--interval",
      "0.1",
      "--",
      "sh",
      "-c",
      "head -c 1000000 /dev/zero >/dev/null; sleep 0.6",
    ],
    { env },
  );
  expect(r.code).toBe(0);
  const db = openDb(env);
  const rows = db.query("SELECT comm, wchar FROM processes").all() as { comm: string; wchar: number }[];
  const samples = (db.query("SELECT count(*) AS n FROM samples").get() as { n: number }).n;
  db.close();
  expect(samples).toBeGreaterThan(0);
  expect(rows.find((x) => x.comm === "head")!.wchar).toBeGreaterThanOrEqual(999_424);
  expect(rows.find((x) => x.comm === "sh")!.wchar).toBeLessThan(1000);
  expect(rows.reduce((n, x) => n + x.wchar, 0)).toBeLessThan(1_001_000);
});

/**
 * A process whose exit is still queued when the sampler has missed it twice (paced drains, up to
 * 500 ms apart as root, against samples 0.1 s apart): its end is its exit event's time, not the
 * sample's. Five `sleep 0.7` run one after the other under sh: each ends before the next starts, and
 * lasts 0.7 s (plus its exec and exit: well under 100 ms). Ended at a sample instead, they overlapped
 * the next by up to ~200 ms (Snakemake's jobs: tests/report/snakemake.test.ts).
 */
test("sampled every 0.1 s, a process's end is its exit, not the sample that missed it", async () => {
  const env = isolatedEnv();
  const r = await run(
    ["run", "--quiet", "--interval", "0.1", "--", "sh", "-c", "for i in 1 2 3 4 5; do /bin/sleep 0.7; done"],
    { env },
  );
  expect(r.code).toBe(0);
  const db = openDb(env);
  const sleeps = db
    .query(
      "SELECT started_at AS startedAt, ended_at AS endedAt, exit_code AS exitCode FROM processes WHERE comm = 'sleep' ORDER BY started_at",
    )
    .all() as { startedAt: number; endedAt: number; exitCode: number | null }[];
  db.close();
  expect(sleeps).toHaveLength(5);
  for (const [i, s] of sleeps.entries()) {
    expect(s.exitCode).toBe(0);
    expect(s.endedAt - s.startedAt).toBeGreaterThanOrEqual(700);
    expect(s.endedAt - s.startedAt).toBeLessThan(800);
    if (i + 1 < sleeps.length) expect(s.endedAt).toBeLessThanOrEqual(sleeps[i + 1]!.startedAt);
  }
});
