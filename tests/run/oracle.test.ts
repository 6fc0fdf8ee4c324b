/**
 * `tracer run` against the oracle (tests/oracle): identity, parent links, exit status, ordering
 * (oracle fork ≤ recorded start ≤ recorded end ≤ oracle reap), CPU and RSS, on the compiled binary,
 * with the stored-run invariants (./_invariants.ts) checked on every run. Timing tolerances are
 * benchmark figures (bench/accuracy.ts), not asserted here. Full mode (connector + taskstats) needs root.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { probeSchedRuntime } from "../../src/observe/schedrt.ts";
import { probeTaskstats } from "../../src/observe/taskstats.ts";
import { cProgram } from "../helpers/bigrun.ts";
import { type CpuGroup, cpuacctGroup, cpuacctRoot } from "../helpers/cpuacct.ts";
import { cleanupTemp, isolatedEnv, run, tempDir } from "../helpers/harness.ts";
import { oracleBinary, readTruths, type Truth } from "../oracle/index.ts";
import { openDb, PY } from "./_helpers.ts";
import { rowsOf, type StoredRow, type Totals, violations } from "./_invariants.ts";

afterAll(cleanupTemp);

const probe = probeTaskstats();
if (!probe.available) console.warn(`skipping oracle tests: taskstats unavailable (${probe.reason})`);
// the scheduler-runtime ledger (eBPF) and a cgroup CPU counter: CPU against a truth rusage falls short of
const ledger = probeSchedRuntime();
const cgroupTruth = ledger.available && cpuacctRoot() !== undefined;
if (!cgroupTruth)
  console.warn(`skipping the cgroup CPU comparisons: ledger ${ledger.reason}, cgroup ${!!cpuacctRoot()}`);

/**
 * tracer's CPU against a cgroup's counter, beyond what cgjoin measured outside the group, µs. Both
 * count sum_exec_runtime; 36 of 36 runs here fell inside cgjoin's window (0.46-1.01 ms outside the
 * group, the window 30-90 µs wide), on a quiet host and beside two busy loops.
 */
const GROUP_SLACK_US = 200;

/** Build a C program into a temp dir. */
function cc(name: string, src: string): string {
  const dir = tempDir();
  writeFileSync(join(dir, `${name}.c`), src);
  const out = join(dir, name);
  const r = Bun.spawnSync(["cc", "-O1", "-pthread", "-o", out, join(dir, `${name}.c`)], { stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(r.stderr.toString());
  return out;
}

/** `teardown MIB MS`: touches MIB MiB, then spins MS ms of CPU in user space, and exits (built once) */
let teardownBuilt: string | undefined;
function teardownProgram(): string {
  teardownBuilt ??= cc(
    "teardown",
    `#include <stdlib.h>
#include <time.h>
int main(int c, char **v) { size_t n = (size_t)atol(v[1]) << 20; volatile char *p = malloc(n);
  for (size_t i = 0; i < n; i += 4096) p[i] = 1;
  struct timespec t0, t; clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t0); volatile unsigned long x = 0;
  do { for (int i = 0; i < 1000; i++) x += i; clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t); }
  while ((t.tv_sec - t0.tv_sec) * 1000000 + (t.tv_nsec - t0.tv_nsec) / 1000 < atol(v[2]) * 1000);
  return 0; }`,
  );
  return teardownBuilt;
}

/** `fill MIB PROG ARGS…`: touches MIB MiB, then execs PROG: its last image small, an earlier one large (built once) */
let fillExecBuilt: string | undefined;
function fillExecProgram(): string {
  fillExecBuilt ??= cc(
    "fill-exec",
    `#include <stdlib.h>
#include <unistd.h>
int main(int c, char **v) { size_t n = (size_t)atol(v[1]) << 20; volatile char *p = malloc(n);
  for (size_t i = 0; i < n; i += 4096) p[i] = 1;
  execv(v[2], v + 2); return 99; }`,
  );
  return fillExecBuilt;
}

interface Traced {
  code: number;
  rows: StoredRow[];
  truths: Truth[];
  eventsLost: number;
  totals: Totals;
  runExit: number | null;
  stderr: string;
}

/** `tracer run -- sh -c SCRIPT` where `$O` in SCRIPT runs a command under the oracle. */
async function traced(
  script: string,
  cmd?: string[],
  extraEnv: Record<string, string> = {},
): Promise<Traced> {
  const env = { ...isolatedEnv(), ...extraEnv };
  const out = join(tempDir(), "truth.jsonl");
  const argv = cmd ?? ["sh", "-c", script.replaceAll("$O", `${oracleBinary()} ${out}`)];
  const r = await run(["run", "--quiet", "--", ...argv], { env });
  const db = openDb(env);
  const info = db.query("SELECT id, events_lost AS eventsLost, exit_code AS exitCode FROM runs").get() as {
    id: string;
    eventsLost: number;
    exitCode: number | null;
  };
  const rows = rowsOf(db, info.id);
  db.close();
  const rep = await run(["report", "--format", "json"], { env });
  const totals = rep.code === 0 ? (JSON.parse(rep.stdout) as { totals: Totals }).totals : undefined;
  return {
    code: r.code,
    rows,
    truths: readTruths(out),
    eventsLost: info.eventsLost,
    totals: totals!,
    runExit: info.exitCode,
    stderr: r.stderr,
  };
}

/** TRACER_TIMING=1's marks on stderr (src/core/timing.ts): each label's first time, epoch ms. */
function timingMarks(stderr: string): Map<string, number> {
  const origin = /^tracer: origin (\d+(?:\.\d+)?)$/m.exec(stderr);
  if (!origin) throw new Error(`no timing origin in: ${stderr}`);
  const marks = new Map<string, number>();
  for (const m of stderr.matchAll(/^tracer: timing \+(\d+(?:\.\d+)?) ms cpu [\d.]+ ms (.+)$/gm))
    if (!marks.has(m[2]!)) marks.set(m[2]!, Number(origin[1]) + Number(m[1]));
  return marks;
}

const rowOf = (t: Traced, truth: Truth) => {
  const mine = t.rows.filter((r) => r.pid === truth.pid);
  expect(mine.length).toBe(1);
  return mine[0]!;
};

/** oracle fork ≤ start ≤ end ≤ oracle reap (epoch ms; stored times are exact to µs) */
function expectOrdered(r: StoredRow, truth: Truth) {
  expect(r.startedAt).not.toBeNull();
  expect(r.endedAt).not.toBeNull();
  expect(r.startedAt!).toBeGreaterThanOrEqual(truth.forkRealNs / 1e6 - 0.001);
  expect(r.endedAt!).toBeGreaterThanOrEqual(r.startedAt!);
  expect(r.endedAt!).toBeLessThanOrEqual(truth.reapRealNs / 1e6 + 0.001);
  expect(Math.abs(r.durationUs! / 1000 - (r.endedAt! - r.startedAt!))).toBeLessThan(0.01);
}

/**
 * A teardown fixture's report (OUT: "pid child_last_ns parent_wait_ns", CLOCK_REALTIME; sigio-exit.c,
 * nsband.c) and the end tracer stored for that pid.
 */
function endBeside(env: Record<string, string>, out: string) {
  const [pid, lastNs, waitedNs] = readFileSync(out, "utf8").trim().split(" ").map(Number) as [
    number,
    number,
    number,
  ];
  const db = openDb(env);
  const row = db.query("SELECT ended_at AS endedAt FROM processes WHERE pid = ?").get(pid) as {
    endedAt: number;
  };
  db.close();
  return { pid, lastNs, waitedNs, row };
}

/**
 * A process's CPU (µs, tracer's figure) against its cgroup's counter: the group counts all of it but
 * for cgjoin's start before it joined, which cgjoin measured.
 */
function expectGroupCpu(cpuUs: number, group: CpuGroup) {
  const outside = group.outsideNs();
  const beyond = cpuUs - group.usageNs() / 1000;
  expect(beyond).toBeGreaterThanOrEqual(outside.min / 1000 - GROUP_SLACK_US);
  expect(beyond).toBeLessThanOrEqual(outside.max / 1000 + GROUP_SLACK_US);
}

describe.skipIf(!probe.available)("tracer run against the oracle (full mode)", () => {
  test("sh -c 'true; true' ×30: one row each, never two", async () => {
    for (let i = 0; i < 30; i++) {
      const t = await traced("true; true");
      expect(t.code).toBe(0);
      expect(t.rows.map((r) => [r.comm, r.pid])).toEqual([["sh", t.rows[0]!.pid]]);
      expect(violations(t.rows, { eventsLost: t.eventsLost, totals: t.totals })).toEqual([]);
    }
  }, 120_000);

  test("a parent that exits right after forking ×20: no phantom row, no lost parent", async () => {
    const t = await traced(
      `i=0; while [ $i -lt 20 ]; do $O ${PY} -c 'import os; os.fork() or os._exit(0)'; i=$((i+1)); done; sleep 0.3`,
    );
    expect(t.code).toBe(0);
    expect(t.truths.length).toBe(20);
    expect(violations(t.rows, { eventsLost: t.eventsLost, totals: t.totals })).toEqual([]);
    for (const truth of t.truths) {
      const py = rowOf(t, truth);
      const oracle = t.rows.find((r) => r.pid === truth.oraclePid)!;
      expect(py.parentId).toBe(oracle.id);
      expect(py.exitCode).toBe(0);
      expectOrdered(py, truth);
      // its child outlived it (re-parented to tracer): still linked to the python that forked it
      const kids = t.rows.filter((r) => r.parentId === py.id);
      expect(kids.length).toBe(1);
      expect(kids[0]!.comm).toBe("python3");
    }
    // sh, sleep, and per round: oracle, python, its child
    expect(t.rows.length).toBe(2 + 20 * 3);
  }, 60_000);

  test("200 children reaped by a parent polling on another CPU: each ended no later than its reap", async () => {
    // exit_notify wakes the parent; the connector stamps the exit after it, so a parent quick enough
    // (an idle CPU, or preemption on the child's) could see the child gone before that stamp: once in
    // CI by 0.57 µs past the 1 µs allowance. The end is now the notification's own time (the ledger's
    // signal program): here 3.4-5.1 µs before the reap at the least, 1.7-2.0 µs with the connector's
    const env = isolatedEnv();
    const out = join(tempDir(), "reaps");
    const r = await run(["run", "--quiet", "--", cProgram("spinreap"), out, "200"], { env });
    expect(r.code).toBe(0);
    const reaps = readFileSync(out, "utf8")
      .trim()
      .split("\n")
      .map((l) => l.split(" ").map(Number) as [number, number]);
    expect(reaps.length).toBe(200);
    const db = openDb(env);
    const ends = new Map(
      (
        db.query("SELECT pid, ended_at AS endedAt FROM processes").all() as { pid: number; endedAt: number }[]
      ).map((p) => [p.pid, p.endedAt]),
    );
    db.close();
    for (const [pid, reapNs] of reaps) expect(ends.get(pid)!).toBeLessThanOrEqual(reapNs / 1e6);
  }, 60_000);

  test.each([
    ["SIGIO", []],
    ["SIGCHLD (F_SETSIG)", ["setsig"]],
  ])(
    "an exit that sends its parent %s before its teardown ends after the teardown (parent ignoring SIGCHLD)",
    async (_sig, extra) => {
      // tests/fixtures/sigio-exit.c: the child's exit sends SIGIO to its parent (a pipe it held closes)
      // before 512 MiB of memfd pages are freed; no SIGCHLD (ignored). Only the notification of the parent
      // marks the end: the SIGIO taken for it ended the child 79 ms (2 GB: 338 ms) before the parent saw it
      // gone (found by an attack); then a SIGCHLD of the same kind (F_SETSIG), 80-90 ms: only a siginfo of
      // an exit (CLD_EXITED/KILLED/DUMPED) from the sender's own pid is stamped. Now the connector's exit
      // time, after the teardown
      const env = isolatedEnv();
      const out = join(tempDir(), "times");
      const r = await run(["run", "--quiet", "--", cProgram("sigio-exit"), out, "512", ...extra], { env });
      expect(r.code, r.stderr).toBe(0);
      const [pid, lastNs, waitedNs] = readFileSync(out, "utf8").trim().split(" ").map(Number) as [
        number,
        number,
        number,
      ];
      const db = openDb(env);
      const row = db.query("SELECT ended_at AS endedAt FROM processes WHERE pid = ?").get(pid) as {
        endedAt: number;
      };
      db.close();
      expect(row.endedAt).toBeGreaterThanOrEqual(lastNs / 1e6);
      // no notification to stamp (SIGCHLD ignored): the connector's time, sent after the parent's wake-up
      // (19 µs after its wait returned, once in 9 runs)
      expect(row.endedAt).toBeLessThanOrEqual(waitedNs / 1e6 + 1);
      // the teardown is within the process's life: its end is ms after the child's last reading, and the
      // parent sees it gone within a few ms of its end (0.06 ms here; 79 ms with the SIGIO's time)
      expect(waitedNs / 1e6 - row.endedAt).toBeLessThan(20);
    },
    60_000,
  );

  test("an exit signal of its own made a pipe's signal (F_SETSIG, POLL_OUT as CLD_KILLED, si_band 772 as si_pid): not the end", async () => {
    // tests/fixtures/nsband.c: a child of global pid 772 (clone3 set_tid) under a parent in a nested pid
    // namespace, its exit signal SIGUSR1; its exit sends that parent SIGUSR1 with POLL_OUT and si_band
    // 0x304 before 512 MiB of memfd pages are freed. It was taken for the exit's notification and ended
    // the child ~100 ms early (a third attack): only SIGCHLD is stamped now
    const env = isolatedEnv();
    const out = join(tempDir(), "times");
    const r = await run(["run", "--quiet", "--", cProgram("nsband"), out, "512", "772"], { env });
    if (r.code === 4) {
      console.warn("skipped: pid 772 is taken on this host");
      return;
    }
    expect(r.code, r.stderr).toBe(0);
    const { pid, lastNs, waitedNs, row } = endBeside(env, out);
    expect(pid).toBe(772);
    expect(row.endedAt).toBeGreaterThanOrEqual(lastNs / 1e6);
    // the connector's time (after the parent's wake-up: up to 1 ms allowed); 95-102 ms early before
    expect(row.endedAt).toBeLessThanOrEqual(waitedNs / 1e6 + 1);
    expect(waitedNs / 1e6 - row.endedAt).toBeLessThan(20);
  }, 60_000);

  test("a process whose main thread exits first ends with its last thread", async () => {
    const prog = cc(
      "main-exits",
      `#include <pthread.h>
#include <time.h>
static void *spin(void *a) { struct timespec t0, t; clock_gettime(CLOCK_MONOTONIC, &t0);
  do clock_gettime(CLOCK_MONOTONIC, &t); while ((t.tv_sec - t0.tv_sec) * 1000000000L + t.tv_nsec - t0.tv_nsec < 300000000L);
  return a; }
int main(void) { pthread_t a, b; pthread_create(&a, 0, spin, 0); pthread_create(&b, 0, spin, 0);
  struct timespec s = {0, 20000000}; nanosleep(&s, 0); pthread_exit(0); }`,
    );
    const group = cgroupTruth ? cpuacctGroup() : undefined;
    try {
      const t = await traced(group ? `$O ${cProgram("cgjoin")} ${group.join} ${prog}` : `$O ${prog}`);
      expect(t.code).toBe(0);
      const truth = t.truths[0]!;
      const r = rowOf(t, truth);
      expectOrdered(r, truth);
      // its workers spin 300 ms of wall time after the main thread started them
      expect(r.durationUs!).toBeGreaterThanOrEqual(300_000);
      expect(r.exitCode).toBe(0);
      // CPU of all threads: both workers' spinning. rusage leaves out each thread's running slice at
      // the moment its counters are folded into the process's (exit_notify): never more than tracer's
      const cpu = r.userUs! + r.systemUs!;
      const rusage = truth.userUs + truth.systemUs;
      if (group) {
        expect(cpu).toBeGreaterThanOrEqual(rusage - 1);
        // the cgroup counts all of it, but for cgjoin's own start before it joined
        expectGroupCpu(cpu, group);
      } else expect(cpu).toBeLessThanOrEqual(rusage + 1);
      expect(violations(t.rows, { eventsLost: t.eventsLost, totals: t.totals })).toEqual([]);
    } finally {
      group?.remove();
    }
  }, 60_000);

  test("a worker that execs after the main thread left: one process, named and ended by the new image", async () => {
    // tests/fixtures/worker-execs.c: the exec makes the worker the leader (the old one's pid and start),
    // so taskstats sends two records of pid = tgid; the first (the old image's, at pthread_exit) named
    // the process before
    const t = await traced(`$O ${cProgram("worker-execs")} sleep 0.2`);
    expect(t.code).toBe(0);
    const truth = t.truths[0]!;
    const r = rowOf(t, truth);
    expect(r.comm).toBe("sleep");
    expect(JSON.parse(r.argv!)).toEqual(["sleep", "0.2"]);
    expect(r.exitCode).toBe(0);
    expectOrdered(r, truth);
    // the worker's 50 ms, then the sleep
    expect(r.durationUs!).toBeGreaterThanOrEqual(250_000);
    expect(violations(t.rows, { eventsLost: t.eventsLost, totals: t.totals })).toEqual([]);
  }, 60_000);

  test("many threads (tests/fixtures/threads.c): CPU as the cgroup counts it, never below rusage", async () => {
    const threads = cProgram("threads");
    // 150 threads of 10 ms one after another, then 1 s of rest; 40 threads at once. Each in a cgroup of
    // its own (tests/fixtures/cgjoin.c), whose CPU counter is the truth: rusage leaves out each
    // thread's running slice at the moment its counters are folded into the process's (~10 µs per
    // thread here, 0.8–2.8 ms for the 150), which the scheduler-runtime ledger counts.
    // Without the ledger (no eBPF): the taskstats figures with the runtime probes, never above
    // rusage and short by at most a tick per thread alive at the last probe.
    const groups = cgroupTruth ? [cpuacctGroup(), cpuacctGroup()] : undefined;
    const wrap = (i: number) => (groups ? `${cProgram("cgjoin")} ${groups[i]!.join} ` : "");
    try {
      // forked once the ledger is open, as in "I/O of every thread" below: a process it enters late lacks
      // the CPU of the threads that exited before (docs/CAPTURE.md). Without the wait the first one's CPU
      // fell 0.3 ms below rusage in 2 of ~30 runs on a slow, noisy day (2 Dec 2026), and once ~0.9 ms
      // short of the cgroup's count beyond cgjoin's window: each time the first process, never the second.
      const t = await traced(
        `sleep 0.3; $O ${wrap(0)}${threads} seq 150 10 1000; $O ${wrap(1)}${threads} conc 40 10`,
      );
      expect(t.code).toBe(0);
      expect(t.truths.length).toBe(2);
      const [seq, conc] = t.truths as [Truth, Truth];
      for (const [i, truth, threadsAtEnd] of [
        [0, seq, 1],
        [1, conc, 41],
      ] as const) {
        const r = rowOf(t, truth);
        const rusage = truth.userUs + truth.systemUs;
        const got = r.userUs! + r.systemUs!;
        if (groups) {
          expect(got).toBeGreaterThanOrEqual(rusage - 1);
          expectGroupCpu(got, groups[i]!);
          continue;
        }
        expect(got).toBeLessThanOrEqual(rusage + 1);
        // a scheduler tick (≤ 10 ms at HZ ≥ 100) per thread that may have exited after the last probe,
        // plus the exit path and teardown of this small process
        expect(rusage - got).toBeLessThanOrEqual(threadsAtEnd * 10_000 + 2_000);
      }
      expect(violations(t.rows, { eventsLost: t.eventsLost, totals: t.totals })).toEqual([]);
    } finally {
      for (const g of groups ?? []) g.remove();
    }
  }, 60_000);

  test("CPU (pipe reader, compute) and peak RSS against wait4 rusage; exit statuses", async () => {
    const t = await traced(
      [
        `$O head -c 300000000 /dev/zero | $O ${PY} -c 'import sys
r = sys.stdin.buffer
while r.read(1 << 16): pass'`,
        `$O ${PY} -c 'b = bytearray(200 << 20); b[::4096] = b"x" * len(b[::4096]); sum(range(3000000)); raise SystemExit(5)'`,
        "$O sh -c 'kill -9 $$'",
        "true",
      ].join("; "),
    );
    expect(t.code).toBe(0);
    expect(t.truths.length).toBe(4);
    expect(violations(t.rows, { eventsLost: t.eventsLost, totals: t.totals })).toEqual([]);
    for (const truth of t.truths) {
      const r = rowOf(t, truth);
      expectOrdered(r, truth);
      expect(r.parentId).toBe(t.rows.find((x) => x.pid === truth.oraclePid)!.id);
      if (truth.signal) expect([r.exitCode, r.signal]).toEqual([null, truth.signal]);
      else expect([r.exitCode, r.signal]).toEqual([truth.exitCode, null]);
      const cpu = r.userUs! + r.systemUs!;
      const truthCpu = truth.userUs + truth.systemUs;
      // single-threaded, reaped at once by the oracle: with the ledger, the scheduler's whole runtime,
      // exit teardown included (200 MiB freed: milliseconds); rusage truncates user and system to µs
      // each, tracer its split of the same ns
      // (rusage is taken at the reap, which can come before the task's last slice ends: tens of µs)
      if (ledger.available) {
        expect(cpu).toBeGreaterThanOrEqual(truthCpu - 3);
        expect(cpu).toBeLessThanOrEqual(truthCpu + 200);
      } else {
        // without it, the taskstats record's runtime: never above rusage; below by at most the time
        // since the last scheduler tick and the exit teardown (docs/CAPTURE.md)
        expect(cpu).toBeLessThanOrEqual(truthCpu + 1);
        expect(cpu).toBeGreaterThanOrEqual(truthCpu - Math.max(0.03 * truthCpu, 10_000));
      }
      if (truth.maxRssKb > 100 << 10)
        expect(Math.abs(r.peakRssKb! - truth.maxRssKb) / truth.maxRssKb).toBeLessThan(0.01);
    }
  }, 60_000);

  test("without the ledger: a 150/300/1000 MiB exit teardown, reaped at once, within max(3 %, 10 ms) of rusage (the drains read it)", async () => {
    // paced drains 100-500 ms apart missed them nearly whole: 150 MiB 12.5-14 ms, 300 MiB 22-27 ms,
    // 1 GiB 71-89 ms short (an attack, 2 Dec 2026); without the ledger tracer drains every 10 ms, every
    // 2 ms while a teardown is watched
    const t = await traced(
      `$O ${teardownProgram()} 150 5; $O ${teardownProgram()} 300 5; $O ${teardownProgram()} 1000 5`,
      undefined,
      { TRACER_NO_SCHED_RUNTIME: "1" },
    );
    expect(t.code).toBe(0);
    expect(t.truths.length).toBe(3);
    for (const truth of t.truths) {
      const r = rowOf(t, truth);
      const cpu = r.userUs! + r.systemUs!;
      const truthCpu = truth.userUs + truth.systemUs;
      expect(cpu).toBeLessThanOrEqual(truthCpu + 1);
      expect(cpu, `pid ${truth.pid}: ${cpu} µs vs rusage ${truthCpu}`).toBeGreaterThanOrEqual(
        truthCpu - Math.max(0.03 * truthCpu, 10_000),
      );
    }
  }, 60_000);

  test("without the ledger: an image an exec replaced is unknown, so the step's peak is a lower bound, never called exact", async () => {
    // fills 100 MiB, then execs /bin/true: without the ledger the row has the last image's peak only
    // (~1 MiB), and the report said `1.0MiB–2.0MiB` for its step and "exact" for a forked `sleep`
    // beside it, while ru_maxrss says 100 MiB (an attack, 2 Dec 2026)
    const fill = fillExecProgram();
    const env = { ...isolatedEnv(), TRACER_NO_SCHED_RUNTIME: "1" };
    const out = join(tempDir(), "truth.jsonl");
    const r = await run(
      ["run", "--quiet", "--", "sh", "-c", `${oracleBinary()} ${out} ${fill} 100 /bin/true; sleep 0.1`],
      {
        env,
      },
    );
    expect(r.code, r.stderr).toBe(0);
    const [truth] = readTruths(out);
    expect(truth!.maxRssKb).toBeGreaterThan(100 << 10);
    const rep = await run(["report", "--format", "json"], { env });
    expect(rep.code).toBe(0);
    const report = JSON.parse(rep.stdout) as {
      totals: { peak_rss_bytes: number; peak_rss_upper_bytes: number | null; peak_rss_exact: boolean };
      steps: {
        name: string;
        peak_rss_bytes: number;
        peak_rss_upper_bytes: number | null;
        peak_rss_exact: boolean;
      }[];
    };
    const step = report.steps.find((s) => s.name === "true")!;
    expect(step).toBeDefined();
    // what was seen stays below the truth; no bound is claimed, and nothing is called exact
    expect(step.peak_rss_bytes).toBeLessThan(truth!.maxRssKb * 1024);
    expect({ upper: step.peak_rss_upper_bytes, exact: step.peak_rss_exact }).toEqual({
      upper: null,
      exact: false,
    });
    // every step but CMD's own (`sh`, whose one exec replaced tracer's image: below)
    for (const s of report.steps)
      if (s.name !== "sh")
        expect({ step: s.name, exact: s.peak_rss_exact }).toEqual({ step: s.name, exact: false });
    expect({ upper: report.totals.peak_rss_upper_bytes, exact: report.totals.peak_rss_exact }).toEqual({
      upper: null,
      exact: false,
    });
    // CMD with one exec: the image it replaced was tracer's (vfork), none of its own — exact as with
    // the ledger (it read ≥1.6MiB: a review, 2 Dec 2026)
    const env2 = { ...isolatedEnv(), TRACER_NO_SCHED_RUNTIME: "1" };
    expect((await run(["run", "--quiet", "--", "/bin/sleep", "0.2"], { env: env2 })).code).toBe(0);
    const alone = JSON.parse(
      (await run(["report", "--format", "json"], { env: env2 })).stdout,
    ) as typeof report;
    expect(alone.steps.map((s) => ({ step: s.name, exact: s.peak_rss_exact }))).toEqual([
      { step: "sleep", exact: true },
    ]);
    expect(alone.steps[0]!.peak_rss_bytes).toBeLessThan(16 << 20);
  }, 60_000);

  test.skipIf(!ledger.available)(
    "peak RSS across execs against wait4's ru_maxrss: an image an exec replaced counts; a vfork child is not charged its parent's",
    async () => {
      // fills N MiB (every page touched), then execs the rest of its argv: its last image is small, and
      // before the ledger kept signal->maxrss at each exec the row had that image's hiwater_rss only
      // (1,032 KiB against ru_maxrss 103,504 for 100 MiB then /bin/true)
      const fill = fillExecProgram();
      // a 64 MiB Python that posix_spawns (vfork) /bin/true: the child's exec leaves the parent's peak in
      // its maxrss (ru_maxrss says 64 MiB for /bin/true); tracer keeps the child's own
      const spawnTrue = `import os; b = bytearray(64 << 20); b[::4096] = b"x" * len(b[::4096]); os.waitpid(os.posix_spawn("/bin/true", ["true"], {}), 0)`;
      const t = await traced(
        [
          "sleep 0.2", // forked after the ledger opened (asserted below)
          `$O ${fill} 64 /bin/true`,
          `$O ${fill} 48 ${fill} 8 /bin/true`,
          `${PY} -c '${spawnTrue}'`,
        ].join("; "),
        undefined,
        { TRACER_TIMING: "1" },
      );
      expect(t.code).toBe(0);
      expect(t.truths.length).toBe(2);
      expect(violations(t.rows, { eventsLost: t.eventsLost, totals: t.totals })).toEqual([]);
      const open = timingMarks(t.stderr).get("ledger open");
      for (const truth of t.truths) {
        expect(open!).toBeLessThan(truth.forkRealNs / 1e6);
        const r = rowOf(t, truth);
        expect(r.comm).toBe("true");
        expect(truth.maxRssKb).toBeGreaterThan(48 << 10);
        expect(Math.abs(r.peakRssKb! - truth.maxRssKb) / truth.maxRssKb).toBeLessThan(0.01);
      }
      const spawned = t.rows.filter((r) => r.comm === "true" && !t.truths.some((x) => x.pid === r.pid));
      expect(spawned.length).toBe(1);
      expect(spawned[0]!.peakRssKb!).toBeGreaterThan(0);
      expect(spawned[0]!.peakRssKb!).toBeLessThan(16 << 10);
    },
    60_000,
  );

  test.skipIf(!ledger.available)(
    "peak RSS of an image a vfork child (or CMD) ran before its next exec: its own, as getrusage says (found 1 Dec 2026)",
    async () => {
      // fills N MiB, writes its pid and its own ru_maxrss (getrusage: the peak of its images, at least
      // its parent's that its vfork-like start brought), then execs the rest of its argv. Before, a vfork
      // child's (and CMD's: tracer starts it with vfork semantics) earlier images were unknown: the row
      // had its last image's peak, ~1.2 MiB against 52 MiB (an attack, 1 Dec 2026).
      const fillSays = cc(
        "fill-says-exec",
        `#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/resource.h>
int main(int c, char **v) { size_t n = (size_t)atol(v[1]) << 20; volatile char *p = malloc(n);
  for (size_t i = 0; i < n; i += 4096) p[i] = 1;
  char line[64]; int k = snprintf(line, sizeof line, "%d ", getpid());
  struct rusage ru; getrusage(RUSAGE_SELF, &ru);
  k += snprintf(line + k, sizeof line - k, "%ld\\n", ru.ru_maxrss); write(1, line, k);
  execv(v[2], v + 2); return 99; }`,
      );
      const env = isolatedEnv();
      // a vfork child (posix_spawn) of a Python, after the ledger opened; and CMD itself (the ledger
      // enters it late, with tracer's peak as the baseline its first exec brought)
      const py = `import os, resource, time; time.sleep(0.3); os.waitpid(os.posix_spawn("${fillSays}", ["${fillSays}", "96", "/bin/true", "child"], {}), 0); print("wait4", resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, flush=True); os.execv("${fillSays}", ["${fillSays}", "128", "/bin/true", "cmd"])`;
      const r = await run(["run", "--quiet", "--", fillSays, "80", PY, "-c", py], { env });
      expect(r.code, r.stderr).toBe(0);
      const lines = r.stdout
        .trim()
        .split("\n")
        .map((l) => l.split(" "));
      // the child's truth: its parent's wait4 (RUSAGE_CHILDREN, one child), exactly what the kernel folded
      const wait4 = Number(lines.find((l) => l[0] === "wait4")![1]);
      const said = new Map(lines.filter((l) => l[0] !== "wait4").map((l) => [Number(l[0]), Number(l[1])]));
      const rep = await run(["report", "--json"], { env });
      const rows = (
        JSON.parse(rep.stdout) as {
          processes: { pid: number; argv: string[] | null; peakRssKb: number | null }[];
        }
      ).processes;
      const child = rows.find((x) => x.argv?.[1] === "child")!;
      const cmd = rows.find((x) => x.argv?.[1] === "cmd")!;
      expect(wait4).toBeGreaterThan(96 << 10);
      expect(child.peakRssKb).toBe(wait4);
      // CMD ran three images: fill 80, Python, fill 128; the largest is the last fill's. No wait4 of CMD
      // but tracer's: its own getrusage, which (like the exec's fold) reads the per-CPU approximations
      // of the RSS counters, each up to a batch of max(32, 2·CPUs) pages per CPU off
      const cpus = navigator.hardwareConcurrency || 1;
      expect(said.get(cmd.pid)).toBeGreaterThan(128 << 10);
      expect(Math.abs(cmd.peakRssKb! - said.get(cmd.pid)!)).toBeLessThanOrEqual(
        Math.max(32, 2 * cpus) * cpus * 4,
      );
    },
    60_000,
  );

  test.skipIf(!ledger.available)(
    "CPU of a process in CMD's first millisecond: the ledger starts opening before CMD, and every process forked once it is open has its whole CPU",
    async () => {
      // dd as CMD's first process, reaped at once by the oracle: only the ledger has its whole runtime
      // (~1 ms, mostly the exec). Opened 5 ms after CMD (as tried for start-up), none of them had it:
      // 0–250 µs against rusage's 1.0–1.3 ms. It opens on its own thread, which can wait for an RCU
      // grace period (8–19 ms here, longer on a loaded host) while CMD runs: a dd forked before it
      // opened may keep taskstats' figure; one forked after must be exact. Which one is told by the
      // marks of TRACER_TIMING=1 (tracer's clock) against the oracle's fork time (CLOCK_REALTIME both).
      // Every other run starts its dd 50 ms late, which finds the ledger open.
      let opened = 0;
      const runs = 8;
      for (let i = 0; i < runs; i++) {
        const dd = "$O dd if=/dev/zero of=/dev/null bs=1000 count=1 status=none";
        const t = await traced(i % 2 ? `sleep 0.05; ${dd}` : dd, undefined, { TRACER_TIMING: "1" });
        expect(t.code).toBe(0);
        const marks = timingMarks(t.stderr);
        expect(marks.get("ledger")!).toBeLessThan(marks.get("CMD spawned")!);
        const truth = t.truths[0]!;
        const r = rowOf(t, truth);
        const cpu = r.userUs! + r.systemUs!;
        const truthCpu = truth.userUs + truth.systemUs;
        expect(cpu).toBeLessThanOrEqual(truthCpu + 200);
        const open = marks.get("ledger open");
        if (open !== undefined && open < truth.forkRealNs / 1e6) {
          opened++;
          expect(cpu).toBeGreaterThanOrEqual(truthCpu - 3);
        }
      }
      // a quarter of the immediate ones here on a quiet host (the open is seen at a 2 ms poll), and the late
      expect(opened).toBeGreaterThanOrEqual(runs / 2);
    },
    60_000,
  );

  test("CPU of a process seen as a zombie: exact to the µs, exit teardown and last slice included", async () => {
    // the oracle leaves each child a zombie for 0.5 s (a parent that reaps late): tracer reads its CPU
    // clock at the exit event. The taskstats record alone lacks the runtime since the last tick and the
    // teardown (0.1–4 ms each here); small processes, so the large-teardown watch plays no part
    const spin = `${PY} -c 'sum(range(2000000))'`;
    const t = await traced(Array.from({ length: 5 }, () => `ORACLE_HOLD_MS=500 $O ${spin}`).join("; "));
    expect(t.code).toBe(0);
    expect(t.truths.length).toBe(5);
    expect(violations(t.rows, { eventsLost: t.eventsLost, totals: t.totals })).toEqual([]);
    for (const truth of t.truths) {
      const r = rowOf(t, truth);
      // rusage truncates user and system to µs each, tracer its split of the same ns: ≤ 2 µs apart
      expect(Math.abs(r.userUs! + r.systemUs! - (truth.userUs + truth.systemUs))).toBeLessThanOrEqual(3);
    }
  }, 60_000);

  test.skipIf(!ledger.available)(
    "user and system time as wait4 splits them: a user-bound life, then a system-bound teardown",
    async () => {
      // The kernel shares the runtime by the tick samples it has at the reap; taskstats' record is sent
      // before the teardown (exit_mm: 400 MiB freed, tens of ms of system ticks), so its ratio gave
      // this process tens of ms too much user time (bench/accuracy.ts: up to 17 ms over for Python
      // children that exit at once). The ledger reads the samples at the exit's notification.
      const teardown = teardownProgram();
      // held as zombies (ORACLE_HOLD_MS): tracer reads the whole runtime then, exact to the ns
      const t = await traced(
        Array.from({ length: 3 }, () => `ORACLE_HOLD_MS=300 $O ${teardown} 400 200`).join("; "),
      );
      expect(t.code).toBe(0);
      expect(t.truths.length).toBe(3);
      for (const truth of t.truths) {
        const r = rowOf(t, truth);
        const got = { userUs: r.userUs, systemUs: r.systemUs };
        // each part truncated to µs, by rusage and by tracer from the same ns
        expect(Math.abs(r.userUs! - truth.userUs), JSON.stringify({ got, truth })).toBeLessThanOrEqual(2);
        expect(Math.abs(r.systemUs! - truth.systemUs), JSON.stringify({ got, truth })).toBeLessThanOrEqual(2);
      }
    },
    60_000,
  );

  test.skipIf(!ledger.available)(
    "user and system time as wait4 splits them: a tick after the exit's notification counts",
    async () => {
      // The rest of do_exit after the parent's notification (the connector's exit event, sent here to
      // 400 listeners) can take a scheduler tick, which wait4's split counts: the samples read at the
      // notification alone split 25 of 300 6 ms processes by half (found by an attack, 2 Dec 2026).
      // The ledger reads them again at every charge after it, the last one in the final schedule.
      const listen = cc(
        "cnlisten",
        `#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/epoll.h>
#include <linux/netlink.h>
#include <linux/connector.h>
#include <linux/cn_proc.h>
int main(int c, char **v) { int k = atoi(v[1]), ep = epoll_create1(0);
  for (int i = 0; i < k; i++) { int s = socket(PF_NETLINK, SOCK_DGRAM, NETLINK_CONNECTOR);
    struct sockaddr_nl a = {.nl_family = AF_NETLINK, .nl_groups = CN_IDX_PROC};
    if (bind(s, (void *)&a, sizeof a)) return 1;
    char buf[NLMSG_SPACE(sizeof(struct cn_msg) + sizeof(int))]; memset(buf, 0, sizeof buf);
    struct nlmsghdr *h = (void *)buf; h->nlmsg_len = sizeof buf; h->nlmsg_type = NLMSG_DONE;
    struct cn_msg *m = NLMSG_DATA(h); m->id.idx = CN_IDX_PROC; m->id.val = CN_VAL_PROC; m->len = sizeof(int);
    *(int *)m->data = PROC_CN_MCAST_LISTEN; send(s, buf, sizeof buf, 0);
    struct epoll_event e = {.events = EPOLLIN, .data.fd = s}; epoll_ctl(ep, EPOLL_CTL_ADD, s, &e); }
  puts("listening"); fflush(stdout);
  struct epoll_event ev[64]; static char b[65536];
  for (;;) { int n = epoll_wait(ep, ev, 64, -1);
    for (int i = 0; i < n; i++) while (recv(ev[i].data.fd, b, sizeof b, MSG_DONTWAIT) > 0) {} } }`,
      );
      const load = Bun.spawn(["taskset", "-c", "1", listen, "400"], { stdout: "pipe", stderr: "ignore" });
      try {
        const reader = load.stdout.getReader();
        expect(new TextDecoder().decode((await reader.read()).value)).toContain("listening");
        reader.releaseLock();
        const t = await traced(`for i in $(seq 300); do $O ${teardownProgram()} 0 6; done`);
        expect(t.code).toBe(0);
        expect(t.truths.length).toBe(300);
        const off: unknown[] = [];
        for (const truth of t.truths) {
          const r = rowOf(t, truth);
          // the total may be above rusage by the last slice (rusage is read at a reap that can come
          // before it ends: tens of µs); each part no further off than that, plus µs truncation
          const total = Math.abs(r.userUs! + r.systemUs! - truth.userUs - truth.systemUs);
          if (
            Math.abs(r.userUs! - truth.userUs) > total + 2 ||
            Math.abs(r.systemUs! - truth.systemUs) > total + 2
          )
            off.push({ got: [r.userUs, r.systemUs], rusage: [truth.userUs, truth.systemUs] });
        }
        expect(off).toEqual([]);
      } finally {
        load.kill();
      }
    },
    120_000,
  );

  test("I/O: never above the truth; exact for a process seen as a zombie (1,000 bytes, not 0)", async () => {
    const t = await traced(
      // a parent that reaps its dd only after 0.5 s (a shell would reap it at once)
      `${PY} -c 'import os, time
pid = os.fork()
if pid == 0: os.execvp("dd", ["dd", "if=/dev/zero", "of=/dev/null", "bs=1000", "count=1", "status=none"])
time.sleep(0.5); os.waitpid(pid, 0)'; $O dd if=/dev/zero of=/dev/null bs=12345 count=1 status=none`,
    );
    expect(t.code).toBe(0);
    const dd = t.rows.filter((r) => r.comm === "dd");
    expect(dd.length).toBe(2);
    const small = dd.find((r) => r.wchar !== null && r.wchar <= 1000)!;
    // a zombie for 0.5 s: /proc/PID/io read at its exit event (taskstats alone says 0)
    expect(small.wchar).toBe(1000);
    const truth = t.truths[0]!;
    const r = rowOf(t, truth);
    expect(r.wchar!).toBeLessThanOrEqual(truth.wchar);
    expect(r.wchar!).toBeGreaterThanOrEqual(truth.wchar - 1024);
  }, 60_000);

  test.skipIf(!ledger.available)(
    "I/O of every thread, whoever reaps: exact against the zombie's /proc/PID/io",
    async () => {
      // each thread writes 1,000 bytes to a file and reads 777 from /dev/zero: taskstats rounds each
      // thread down to a whole KiB (0 here) and the zombie's main thread holds only its own; the
      // oracle reaps at once, so tracer seldom reads the zombie at all
      const threads = cc(
        "threads-io",
        `#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>
static int out;
static void *work(void *a) {
  char b[1000] = {0};
  (void)a; (void)!write(out, b, sizeof b);
  int z = open("/dev/zero", O_RDONLY); (void)!read(z, b, 777); close(z);
  return 0;
}
int main(int argc, char **argv) {
  int n = atoi(argv[2]); pthread_t t[256];
  out = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0600);
  for (int i = 0; i < n; i++) pthread_create(&t[i], 0, work, 0);
  for (int i = 0; i < n; i++) pthread_join(t[i], 0);
  return 0;
}`,
      );
      const dir = tempDir();
      // forked once the ledger is open (it opens some ms after CMD starts, later when a previous run's
      // tracepoints were detached moments ago): a process it entered late lacks the threads that exited
      // before that, as documented (docs/CAPTURE.md), and failed this test 3 runs in 6 on a rebooted host
      const t = await traced(
        [
          "sleep 0.3",
          `$O ${threads} ${dir}/a 100`,
          `$O ${threads} ${dir}/b 7`,
          `$O dd if=/dev/zero of=${dir}/c bs=12345 count=3 status=none`,
          `$O dd if=/dev/zero of=/dev/null bs=1000 count=1 status=none`,
        ].join("; "),
      );
      expect(t.code).toBe(0);
      expect(t.truths.length).toBe(4);
      expect(violations(t.rows, { eventsLost: t.eventsLost, totals: t.totals })).toEqual([]);
      const io = (x: {
        rchar: number | null;
        wchar: number | null;
        readBytes: number | null;
        writeBytes: number | null;
      }) => ({ rchar: x.rchar, wchar: x.wchar, readBytes: x.readBytes, writeBytes: x.writeBytes });
      for (const truth of t.truths) {
        expect(truth.wchar).toBeGreaterThan(0); // the oracle read the zombie's counters
        expect(io(rowOf(t, truth))).toEqual(io(truth));
      }
      expect(t.truths.map((x) => x.wchar).sort((a, b) => a - b)).toEqual([1000, 7000, 37035, 100000]);
    },
    60_000,
  );

  test("CMD that cannot be executed: tracer's own fork is not recorded", async () => {
    const dir = tempDir();
    const script = join(dir, "no-x-bit.sh");
    writeFileSync(script, "#!/bin/sh\necho hi\n");
    chmodSync(script, 0o644);
    for (const [cmd, want] of [
      [script, 126],
      [dir, 126],
      ["/nonexistent/cmd", 127],
    ] as const) {
      const t = await traced("", [cmd]);
      expect(t.code).toBe(want);
      expect(t.rows).toEqual([]);
    }
  }, 60_000);

  test("a 100,000-deep chain, each parent exiting right after its fork: exactly 100,002 rows", async () => {
    const chain = cc(
      "chain",
      `#include <stdlib.h>
#include <unistd.h>
#include <sys/wait.h>
int main(int argc, char **argv) {
  long n = atol(argv[1]); int p[2]; if (pipe(p) < 0) return 1;
  pid_t c = fork();
  if (c == 0) { close(p[0]); for (long i = 0; i < n; i++) { pid_t k = fork(); if (k < 0) { write(p[1], "x", 1); _exit(1); } if (k > 0) _exit(0); } _exit(0); }
  close(p[1]); char b; int failed = 0; while (read(p[0], &b, 1) > 0) failed = 1; waitpid(c, 0, 0); return failed ? 4 : 0; }`,
    );
    // the top waits (for the pipe's EOF: every process of the chain holds its write end); it exits 4
    // when a link's fork failed (EAGAIN: a shared host out of pids, 32,768 here), which shortens the
    // chain through no fault of tracer's: that take is made again once
    let t = await traced("", [chain, "100000"]);
    if (t.code === 4) {
      console.log("a fork of the chain failed (host out of pids): once more");
      t = await traced("", [chain, "100000"]);
    }
    expect(t.code).toBe(0);
    expect(t.eventsLost).toBe(0);
    expect(violations(t.rows, { eventsLost: t.eventsLost, totals: t.totals })).toEqual([]);
    // on failure, the rows that are not an ordinary link of the chain say what went wrong
    const odd = t.rows.filter((r) => r.parentId === null || r.durationUs === null || r.exitCode !== 0);
    expect({ rows: t.rows.length, odd: odd.length }).toEqual({ rows: 100_002, odd: 1 });
  }, 300_000);
});
