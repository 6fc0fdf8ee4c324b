#!/usr/bin/env bun
/**
 * Accuracy of `tracer run` against the oracle (tests/oracle): not a test, the figures are quoted in
 * docs/CAPTURE.md. Each workload runs under dist/tracer with its measured processes wrapped in the
 * oracle (same pids); every stored row of a wrapped process is compared with the oracle's truth.
 * Prints, per figure, p50 / p95 / max error and how many are over the issue's threshold, then the
 * identity checks (duplicates, lost parents, rows ending before they start, exit status).
 * Usage: bun bench/accuracy.ts [rounds=1]   (ONLY=substring: only the workloads whose name contains it; TRACER_BIN=path: another build)
 */
import { Database } from "bun:sqlite";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { oracleBinary, readTruths, type Truth } from "../tests/oracle/index.ts";

const rounds = Number(process.argv[2] ?? 1);
/** TRACER_BIN=path: another build */
const bin = process.env.TRACER_BIN ?? join(resolve(import.meta.dir, ".."), "dist", "tracer");
const dir = mkdtempSync(join(tmpdir(), "tracer-accuracy-"));
const env = {
  ...process.env,
  NO_COLOR: "1",
  TRACER_STATE_DIR: join(dir, "state"),
  TRACER_RUNTIME_DIR: join(dir, "run"),
};
const O = oracleBinary();
const PY = "/usr/bin/python3";

function cc(name: string, src: string): string {
  const c = join(dir, `${name}.c`);
  writeFileSync(c, src);
  const out = join(dir, name);
  const r = Bun.spawnSync(["cc", "-O1", "-pthread", "-o", out, c], { stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(r.stderr.toString());
  return out;
}

// ---- workloads ---------------------------------------------------------------------------------
const data = join(dir, "data");
writeFileSync(
  data,
  Buffer.from(Array.from({ length: 24 << 20 }, (_, i) => (i * 2654435761) >>> 27).map((x) => x + 65)),
);
const mainExits = cc(
  "main-exits",
  `#include <pthread.h>
#include <time.h>
static void *spin(void *a) { struct timespec t0, t; clock_gettime(CLOCK_MONOTONIC, &t0);
  do clock_gettime(CLOCK_MONOTONIC, &t); while ((t.tv_sec - t0.tv_sec) * 1000000000L + t.tv_nsec - t0.tv_nsec < 300000000L);
  return a; }
int main(void) { pthread_t a, b; pthread_create(&a, 0, spin, 0); pthread_create(&b, 0, spin, 0);
  struct timespec s = {0, 20000000}; nanosleep(&s, 0); pthread_exit(0); }`,
);
const big = cc(
  "big",
  `#include <stdlib.h>
#include <string.h>
#include <time.h>
int main(int c, char **v) { size_t n = (size_t)atol(v[1]) << 20; char *p = malloc(n); memset(p, 1, n);
  if (c > 2) { struct timespec s = {0, atol(v[2]) * 1000000L}; nanosleep(&s, 0); }
  return p[n / 2] == 1 ? 0 : 1; }`,
);
const threads = join(dir, "threads");
if (
  Bun.spawnSync([
    "cc",
    "-O2",
    "-pthread",
    "-o",
    threads,
    join(import.meta.dir, "..", "tests", "fixtures", "threads.c"),
  ]).exitCode !== 0
)
  throw new Error("cannot build tests/fixtures/threads.c");
const noexec = join(dir, "noexec.sh");
writeFileSync(noexec, "#!/bin/sh\necho hi\n");
chmodSync(noexec, 0o644);
const threadsPy = [
  "import hashlib, threading",
  "b = bytes(64 << 20)",
  "def w():",
  "    for _ in range(6): hashlib.sha256(b).digest()",
  "ts = [threading.Thread(target=w) for _ in range(4)]",
  "[t.start() for t in ts]; [t.join() for t in ts]",
].join("\n");

/** name → shell script run under `tracer run`; `$O` runs a command under the oracle. */
const WORKLOADS: Record<string, string> = {
  "xz -T2": `$O xz -T2 -6 -c ${data} > /dev/null`,
  "python 4 threads": `$O ${PY} -c '${threadsPy}'`,
  "pipe producer|consumer": `$O head -c 300000000 /dev/zero | $O ${PY} -c 'import sys; r=sys.stdin.buffer; n=0
while True:
    b = r.read(1 << 16)
    if not b: break
    n += len(b)'`,
  "200 short processes": "i=0; while [ $i -lt 200 ]; do $O /bin/true; i=$((i+1)); done",
  "main thread exits first": `$O ${mainExits}`,
  "2 GiB freed at exit": `$O ${big} 2048`,
  "parent exits after fork x20": `i=0; while [ $i -lt 20 ]; do $O ${PY} -c 'import os; os.fork() or os._exit(0)'; i=$((i+1)); done; sleep 0.2`,
  "exec failures 126/127": `$O ${noexec}; $O /nonexistent/cmd; $O /etc/passwd; true`,
  "small writes":
    "$O dd if=/dev/zero of=/dev/null bs=1000 count=1 status=none; $O dd if=/dev/zero of=/dev/null bs=12345 count=1 status=none",
  "two 300 MiB together": `$O ${big} 300 400 & $O ${big} 300 400 & wait`,
  // like bwa mem: a new thread per batch (tests/fixtures/threads.c: 100 threads of 10 ms in turn)
  "100 threads in turn": `$O ${threads} seq 100 10`,
};

interface Row {
  id: number;
  pid: number;
  startTicks: number;
  ppid: number | null;
  parentId: number | null;
  startedAt: number | null;
  endedAt: number | null;
  durationUs: number | null;
  exitCode: number | null;
  signal: number | null;
  userUs: number | null;
  systemUs: number | null;
  peakRssKb: number | null;
  rchar: number | null;
  wchar: number | null;
  comm: string | null;
  argv: string | null;
}

// ---- figures -----------------------------------------------------------------------------------
const errs = new Map<
  string,
  { values: number[]; over: number; threshold: string; unit: string; where: Map<string, number> }
>();
let workload = "";
function note(fig: string, err: number, over: boolean, threshold: string, unit: string) {
  const e = errs.get(fig) ?? { values: [], over: 0, threshold, unit, where: new Map<string, number>() };
  errs.set(fig, e);
  e.values.push(err);
  if (over) {
    e.over++;
    e.where.set(workload, (e.where.get(workload) ?? 0) + 1);
  }
}
const ident = {
  orderWrong: 0,
  duplicates: 0,
  lostParents: 0,
  endBeforeStart: 0,
  missing: 0,
  statusWrong: 0,
  statusChecked: 0,
};
const notes: string[] = [];

function compare(name: string, rows: Row[], truths: Truth[], run: { eventsLost: number; cmdRowId?: number }) {
  const seen = new Map<string, number>();
  for (const r of rows) {
    const k = `${r.pid}:${r.startTicks}`;
    seen.set(k, (seen.get(k) ?? 0) + 1);
    if (r.endedAt !== null && r.startedAt !== null && r.endedAt < r.startedAt) ident.endBeforeStart++;
  }
  // the same pid twice with overlapping lives is one process stored twice
  const byPid = Map.groupBy(rows, (r) => r.pid);
  for (const list of byPid.values()) {
    for (let i = 0; i < list.length; i++)
      for (let j = i + 1; j < list.length; j++) {
        const a = list[i]!;
        const b = list[j]!;
        const overlap =
          (a.startedAt ?? 0) <= (b.endedAt ?? Infinity) && (b.startedAt ?? 0) <= (a.endedAt ?? Infinity);
        if (overlap) ident.duplicates++;
      }
  }
  for (const n of seen.values()) if (n > 1) ident.duplicates += n - 1;
  if (run.eventsLost === 0) {
    const roots = rows.filter((r) => r.parentId === null);
    if (roots.length > 1) {
      ident.lostParents += roots.length - 1;
      notes.push(
        `${name}: ${roots.length} rows without a parent: ${roots.map((r) => `${r.pid}(${r.comm})`).join(" ")}`,
      );
    }
  }
  for (const t of truths) {
    const mine = rows.filter((r) => r.pid === t.pid);
    const r = mine.length > 1 ? (mine.find((m) => m.startTicks === t.startTicks) ?? mine[0]) : mine[0];
    if (!r) {
      ident.missing++;
      notes.push(`${name}: pid ${t.pid} (exit ${t.exitCode}) not stored`);
      continue;
    }
    const oracleRow = rows.find((x) => x.pid === t.oraclePid);
    if (oracleRow && r.parentId !== oracleRow.id) {
      ident.lostParents++;
      notes.push(`${name}: pid ${t.pid} parent ${r.parentId} ≠ oracle row ${oracleRow.id}`);
    }
    ident.statusChecked++;
    const want = t.signal ? { exitCode: null, signal: t.signal } : { exitCode: t.exitCode, signal: null };
    if (r.exitCode !== want.exitCode || (r.signal ?? null) !== want.signal) {
      ident.statusWrong++;
      notes.push(`${name}: pid ${t.pid} status ${r.exitCode}/${r.signal} ≠ ${want.exitCode}/${want.signal}`);
    }
    const forkMs = t.forkRealNs / 1e6;
    const zombieMs = (t.reapRealNs - (t.reapMonoNs - t.zombieMonoNs)) / 1e6;
    if (r.startedAt !== null) {
      const e = r.startedAt - forkMs;
      note("start (ms after oracle fork)", e, e < 0 || e > 2, "outside [0, 2] ms", "ms");
      if (e < 0) ident.orderWrong++;
    }
    if (r.endedAt !== null) {
      const e = zombieMs - r.endedAt;
      note("end (ms before oracle's zombie)", e, e < 0 || e > 2, "outside [0, 2] ms", "ms");
      if (e < 0 || (r.startedAt !== null && r.endedAt < r.startedAt)) ident.orderWrong++;
    }
    if (r.durationUs !== null) {
      const truth = (t.zombieMonoNs - t.forkMonoNs) / 1e3;
      const e = (truth - r.durationUs) / 1e3;
      const lim = name.startsWith("2 GiB") ? 5 : 2;
      note("duration (ms short of fork→zombie)", e, Math.abs(e) > lim, `|e| > ${lim} ms`, "ms");
      if (r.endedAt !== null && r.startedAt !== null) {
        const d = Math.abs(r.endedAt - r.startedAt - r.durationUs / 1e3);
        note("end − start vs duration", d, d > 0.01, "> 0.01 ms", "ms");
      }
    }
    if (t.execErrno) continue; // never ran: no CPU, RSS or I/O worth comparing
    if (r.userUs !== null && r.systemUs !== null) {
      const truth = t.userUs + t.systemUs;
      const got = r.userUs + r.systemUs;
      const lim = Math.max(0.02 * truth, 1000);
      if (Math.abs(got - truth) > lim)
        notes.push(
          `${name}: ${r.comm} CPU ${(got / 1e3).toFixed(2)} ms, rusage ${(truth / 1e3).toFixed(2)} ms`,
        );
      note(
        "CPU user+sys (ms, tracer − rusage)",
        (got - truth) / 1e3,
        Math.abs(got - truth) > lim,
        "> max(2 %, 1 ms)",
        "ms",
      );
      if (truth >= 50_000)
        note(
          "CPU user+sys (% of rusage, ≥ 50 ms)",
          (100 * (got - truth)) / truth,
          Math.abs(got - truth) > lim,
          "> max(2 %, 1 ms)",
          "%",
        );
      const su = Math.abs(r.userUs - t.userUs);
      note("CPU user part (ms, |tracer − rusage|)", su / 1e3, su > lim, "> max(2 %, 1 ms)", "ms");
    }
    if (r.peakRssKb !== null && t.maxRssKb >= 16 << 10) {
      const e = (100 * (r.peakRssKb - t.maxRssKb)) / t.maxRssKb;
      note("peak RSS ≥ 16 MiB (% vs ru_maxrss)", e, Math.abs(e) > 1, "> 1 %", "%");
    }
    if (r.wchar !== null && t.wchar >= 0) {
      const e = r.wchar - t.wchar;
      // exact with the ledger (every thread's counters summed at its exit); without it taskstats
      // rounds each thread down to a whole KiB
      note("wchar (bytes, tracer − zombie /proc)", e, e !== 0, "not exact", "B");
    }
    if (r.rchar !== null && t.rchar >= 0) {
      const e = r.rchar - t.rchar;
      note("rchar (bytes, tracer − zombie /proc)", e, e !== 0, "not exact", "B");
    }
  }
}

function pct(xs: number[], p: number) {
  const s = [...xs].sort((a, b) => Math.abs(a) - Math.abs(b));
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}
/** run names follow tracer's name rule (letters, digits, space and ._:@+-) */
const runName = (name: string, round: number) => `${name.replace(/[^\p{L}\p{N} ._:@+-]/gu, "-")} r${round}`;
const fmt = (x: number) =>
  Math.abs(x) >= 100 ? x.toFixed(0) : Math.abs(x) >= 1 ? x.toFixed(2) : x.toFixed(3);

try {
  for (let round = 0; round < rounds; round++) {
    for (const [name, script] of Object.entries(WORKLOADS)) {
      if (process.env.ONLY && !name.includes(process.env.ONLY)) continue;
      const out = join(dir, `truth-${round}-${name.replace(/\W+/g, "_")}.jsonl`);
      const cmd = script.replaceAll("$O", `${O} ${out}`);
      const r = Bun.spawnSync(
        [bin, "run", "--quiet", "--name", runName(name, round), "--", "sh", "-c", cmd],
        {
          env,
          stdout: "ignore",
          stderr: "pipe",
        },
      );
      if (r.exitCode !== 0)
        notes.push(`${name}: tracer exited ${r.exitCode}: ${r.stderr.toString().slice(0, 200)}`);
      const db = new Database(join(env.TRACER_STATE_DIR, "tracer.db"), { readonly: true });
      const run = db
        .query("SELECT id, events_lost AS eventsLost FROM runs WHERE name = ?")
        .get(runName(name, round)) as {
        id: string;
        eventsLost: number;
      };
      const rows = db
        .query(
          `SELECT id, pid, start_ticks AS startTicks, ppid, parent_id AS parentId, started_at AS startedAt,
           ended_at AS endedAt, duration_us AS durationUs, exit_code AS exitCode, signal, user_us AS userUs,
           system_us AS systemUs, peak_rss_kb AS peakRssKb, rchar, wchar, comm, argv FROM processes WHERE run_id = ?`,
        )
        .all(run.id) as Row[];
      db.close();
      if (run.eventsLost) notes.push(`${name}: ${run.eventsLost} events lost`);
      if (rows.some((x) => x.comm === "tracer" || x.comm === "[tracer]"))
        notes.push(
          `${name}: a row charged to tracer itself: ${JSON.stringify(rows.find((x) => x.comm?.includes("tracer")))}`,
        );
      workload = name;
      compare(name, rows, readTruths(out), run);
    }
    // exec failure of CMD itself: the run's status, and no phantom process
    for (const [what, cmd, want] of [
      ["script without x bit", noexec, 126],
      ["directory", dir, 126],
      ["missing", "/nonexistent/cmd", 127],
    ] as const) {
      const name = runName(`exec-fail ${what}`, round);
      const r = Bun.spawnSync([bin, "run", "--quiet", "--name", name, "--", cmd], {
        env,
        stdout: "ignore",
        stderr: "ignore",
      });
      const db = new Database(join(env.TRACER_STATE_DIR, "tracer.db"), { readonly: true });
      const run = db.query("SELECT id, exit_code AS exitCode FROM runs WHERE name = ?").get(name) as {
        id: string;
        exitCode: number | null;
      } | null;
      const n = run
        ? (db.query("SELECT count(*) AS n FROM processes WHERE run_id = ?").get(run.id) as { n: number }).n
        : 0;
      db.close();
      ident.statusChecked++;
      if (r.exitCode !== want || run?.exitCode !== want) {
        ident.statusWrong++;
        notes.push(`CMD ${what}: tracer exit ${r.exitCode}, stored ${run?.exitCode}, want ${want}`);
      }
      if (n > 0) notes.push(`CMD ${what}: ${n} phantom process row(s)`);
    }
  }
  console.log(
    `accuracy of tracer run against the oracle (${rounds} round(s); errors signed where it matters)\n`,
  );
  console.log(
    `${"figure".padEnd(40)} ${"n".padStart(5)} ${"p50".padStart(9)} ${"p95".padStart(9)} ${"max".padStart(9)}  over threshold`,
  );
  for (const [fig, e] of errs) {
    const max = e.values.reduce((m, x) => (Math.abs(x) > Math.abs(m) ? x : m), 0);
    console.log(
      `${fig.padEnd(40)} ${String(e.values.length).padStart(5)} ${fmt(pct(e.values, 50)).padStart(9)} ${fmt(pct(e.values, 95)).padStart(9)} ${fmt(max).padStart(9)}  ${e.over} (${e.threshold})${e.where.size ? `: ${[...e.where].map(([w, n]) => `${w} ${n}`).join(", ")}` : ""}`,
    );
  }
  console.log(
    `\nordering (oracle fork ≤ start ≤ end ≤ oracle zombie): ${ident.orderWrong} violations\nidentity: ${ident.duplicates} duplicate rows, ${ident.lostParents} lost parents, ${ident.endBeforeStart} rows ending before they start, ${ident.missing} wrapped processes not stored; exit status ${ident.statusChecked - ident.statusWrong}/${ident.statusChecked} right`,
  );
  if (notes.length) console.log(`\nnotes:\n  ${[...new Set(notes)].slice(0, 40).join("\n  ")}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
