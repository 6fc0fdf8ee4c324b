/**
 * The core of `tracer top` without a terminal: RunWatch polling a real store (written through the
 * store's own writer, as the recorder does), the snapshot model, and the renderer (sanitising, width,
 * height, scrolling). On a 100,000-process run a poll after the first reads only the live rows.
 */
import { afterAll, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { join } from "node:path";
import { loadReport } from "../../src/report/load.ts";
import { renderTable, stepPeak } from "../../src/report/table.ts";
import { loadRules } from "../../src/rules/index.ts";
import { type ProcessRecord, StoreWriter, createRun, finishRun, openStore } from "../../src/store/index.ts";
import {
  RunWatch,
  SNAPSHOT_CELL_COLUMNS,
  type Snapshot,
  TopSession,
  type View,
  fit,
  render,
  topRun,
} from "../../src/top/index.ts";
import { splitKeys } from "../../src/top/screen.ts";
import { writeBigRun } from "../helpers/bigrun.ts";
import { cleanupTemp, tempDir } from "../helpers/harness.ts";

afterAll(cleanupTemp);
const rules = loadRules({ files: [] });
const T0 = Date.now() - 10_000;

const view = (over: Partial<View> = {}): View => ({
  sort: "cpu",
  expanded: "all",
  width: 120,
  height: 40,
  color: false,
  interactive: false,
  ...over,
});

function liveStore() {
  const dbPath = join(tempDir(), "tracer.db");
  const db = openStore(dbPath);
  const runId = Bun.randomUUIDv7();
  createRun(db, {
    id: runId,
    name: "live",
    pipeline: "p",
    command: ["bash", "pipe.sh"],
    cwd: "/w",
    host: "h",
    mode: "connector+taskstats",
    recorderPid: process.pid, // alive: the run counts as being recorded
    startedAt: T0,
  });
  const w = new StoreWriter(db, runId);
  let pid = 100;
  const proc = (
    parent: ProcessRecord | undefined,
    argv: string[],
    at: number,
    more: Partial<ProcessRecord> = {},
  ) => {
    const p: ProcessRecord = {
      pid: pid++,
      startTicks: pid,
      parent,
      argv,
      comm: argv[0],
      startedAt: T0 + at,
      ...more,
    };
    w.process(p);
    return p;
  };
  return { db, dbPath, runId, w, proc };
}

test("a running step's live figures, a failed step, the pipeline's shell as a step of its own; then the step ends", () => {
  const { db, runId, w, proc } = liveStore();
  const root = proc(undefined, ["bash", "pipe.sh"], 0);
  const sort = proc(root, ["sort", "-o", "out", "in"], 1000, { rchar: 1000, wchar: 0 });
  proc(root, ["gzip", "-c", "missing"], 500, { endedAt: T0 + 600, exitCode: 1, userUs: 1000 });
  w.sample(sort, { at: T0 + 5000, cpuPct: 87.5, rssKb: 2048 });
  w.flush();
  const watch = new RunWatch(db, runId, rules);
  let run = topRun(watch.poll(T0 + 6000)!, T0 + 6000);
  expect(run.status).toBe("running");
  // the pipeline's shell is an "other" step of its own (every process is in one step, docs/RULES.md)
  expect([run.running, run.done, run.failed]).toEqual([2, 0, 1]);
  const running = run.steps.find((s) => s.state === "running" && s.name === "sort")!;
  expect(running.name).toBe("sort");
  expect(running.cpuPct).toBe(87.5);
  expect(running.rssKb).toBe(2048);
  expect(running.elapsedMs).toBe(5000);
  expect(running.live.map((p) => p.pid)).toEqual([sort.pid]);
  const failed = run.steps.find((s) => s.state === "failed")!;
  expect(failed.exit).toBe("1");
  expect(failed.ioRate).toBeNull(); // 100 ms: too short for an average rate
  expect(run.other).toEqual([]);
  expect(run.steps.find((s) => s.state === "running" && s.name !== "sort")?.live.map((p) => p.pid)).toEqual([
    root.pid,
  ]);
  expect(run.hidden).toBe(0);

  // a second sample: the I/O rate is rchar + wchar over the time between the samples
  sort.rchar = 3000;
  sort.wchar = 1000;
  w.process(sort);
  w.sample(sort, { at: T0 + 6000, cpuPct: 50, rssKb: 4096 });
  w.flush();
  run = topRun(watch.poll(T0 + 7000)!, T0 + 7000);
  expect(run.steps.find((s) => s.state === "running" && s.name === "sort")?.ioRate).toBe(3000);

  // the step ends: re-read (it was live), regrouped, shown done
  Object.assign(sort, { endedAt: T0 + 7000, exitCode: 0, userUs: 2_000_000, systemUs: 0 });
  w.process(sort);
  w.flush();
  run = topRun(watch.poll(T0 + 9000)!, T0 + 9000);
  expect([run.running, run.done, run.failed]).toEqual([1, 1, 1]);
  const done = run.steps.find((s) => s.name === "sort")!;
  expect(done.state).toBe("done");
  expect(done.elapsedMs).toBe(6000);
  expect(done.cpuPct).toBeCloseTo(33.3, 1); // 2 s of CPU in 6 s

  finishRun(db, runId, { endedAt: T0 + 9500, exitCode: 0, eventsLost: 0, mode: "connector+taskstats" });
  run = topRun(watch.poll(T0 + 10_000)!, T0 + 10_000);
  expect(run.status).toBe("done");
  expect(run.elapsedMs).toBe(9500);
  const lines = render({ at: T0, runs: [run] }, view()).lines.join("\n");
  expect(lines).toMatch(/run live .* done in 9\.5s · exit 0/);
});

test("an ended step of two processes alive together shows the step's peak, as tracer report does", () => {
  // make → the recipe's shell → `bwa mem | samtools sort`: one make-recipe step (x.bam) of 3 processes
  const { db, runId, w, proc } = liveStore();
  const make = proc(undefined, ["make", "x.bam"], 0);
  const recipe = proc(make, ["/bin/sh", "-c", "bwa mem r.fa x.fq | samtools sort -o x.bam"], 100);
  const bwa = proc(recipe, ["bwa", "mem", "r.fa", "x.fq"], 200);
  const sort = proc(recipe, ["samtools", "sort", "-o", "x.bam"], 200);
  // sampled while both run: 150 + 50 MiB at one instant, then 148 + 58 MiB (the step's sampled peak)
  w.sample(bwa, { at: T0 + 1000, cpuPct: 100, rssKb: 150 << 10 });
  w.sample(sort, { at: T0 + 1000, cpuPct: 10, rssKb: 50 << 10 });
  w.flush();
  const watch = new RunWatch(db, runId, rules);
  expect(topRun(watch.poll(T0 + 1500)!, T0 + 1500).steps.find((s) => s.name === "x.bam")?.state).toBe(
    "running",
  );
  w.sample(bwa, { at: T0 + 2000, cpuPct: 100, rssKb: 148 << 10 });
  w.sample(sort, { at: T0 + 2000, cpuPct: 10, rssKb: 58 << 10 });
  const end = { endedAt: T0 + 3000, exitCode: 0, userUs: 1_000_000, systemUs: 0 };
  // the processes' own peaks (VmHWM): 150 MiB and 60 MiB, the shell's 1 MiB
  Object.assign(bwa, end, { peakRssKb: 150 << 10 });
  Object.assign(sort, end, { peakRssKb: 60 << 10 });
  Object.assign(recipe, end, { peakRssKb: 1 << 10 });
  for (const p of [bwa, sort, recipe]) w.process(p);
  w.flush();
  let step = topRun(watch.poll(T0 + 4000)!, T0 + 4000).steps.find((s) => s.name === "x.bam")!;
  expect(step.state).toBe("done");
  expect(step.processes).toBe(3);
  // sampled 206 MiB (more than its largest process's 150 MiB), at most 150 + 60 + 1 MiB
  expect(step.rssKb).toBe(206 << 10);
  expect(step.peak).toBe("206MiB–211MiB");
  finishRun(db, runId, { endedAt: T0 + 3500, exitCode: 0, eventsLost: 0, mode: "connector+taskstats" });
  const reported = loadReport(db, runId, rules).steps.find((s) => s.name === "x.bam")!;
  expect(stepPeak(reported)).toBe(step.peak!);
  const screen = render({ at: T0, runs: [topRun(watch.poll(T0 + 5000)!, T0 + 5000)] }, view());
  const row = screen.lines.find((l) => /\bx\.bam\b/.test(l))!;
  expect(row).toContain(" 206MiB–211MiB ");
  // the range is explained under the steps, as under the report's table (once, whatever the rows)
  const legend = screen.lines.filter((l) => l.startsWith("RSS a–b: a the most seen"));
  expect(legend).toHaveLength(1);
  expect(screen.lines.some((l) => l.startsWith("RSS ≥a"))).toBe(false);
  expect(renderTable(loadReport(db, runId, rules))).toMatch(/ 206MiB–211MiB .*x\.bam/);

  // samples that land a flush after their processes' end still count: the step is regrouped
  w.sample(bwa, { at: T0 + 2500, cpuPct: 100, rssKb: 150 << 10 });
  w.sample(sort, { at: T0 + 2500, cpuPct: 10, rssKb: 59 << 10 });
  w.flush();
  step = topRun(watch.poll(T0 + 7000)!, T0 + 7000).steps.find((s) => s.name === "x.bam")!;
  expect(step.peak).toBe("209MiB–211MiB");
  expect(stepPeak(loadReport(db, runId, rules).steps.find((s) => s.name === "x.bam")!)).toBe(step.peak!);
});

test("recorded text is sanitised on screen; lines fit the width by display width", () => {
  const { db, runId, w, proc } = liveStore();
  const root = proc(undefined, ["bash", "run\x1b]0;owned\x07.sh"], 0);
  const evil = proc(
    root,
    ["sort", "\x1b[2J\u202eevil", "日本語のファイル名日本語のファイル名日本語のファイル名日本語"],
    100,
  );
  w.sample(evil, { at: T0 + 1000, cpuPct: 1, rssKb: 1 });
  w.flush();
  db.query("UPDATE runs SET name = ? WHERE id = ?").run("name\x1b[31m\u2066", runId);
  const snap: Snapshot = {
    at: T0,
    runs: [topRun(new RunWatch(db, runId, rules).poll(T0 + 2000)!, T0 + 2000)],
  };
  const full = render(snap, view({ width: Number.POSITIVE_INFINITY })).lines.join("\n");
  expect(full).toContain("\\x1b[2J\\u{202e}evil");
  expect(full).toContain("\\x1b]0;owned\\x07.sh");
  expect(full).toContain("name\\x1b[31m\\u{2066}");
  for (const width of [Number.POSITIVE_INFINITY, 60]) {
    const text = render(snap, view({ width })).lines.join("\n");
    expect(text).not.toMatch(/[\x00-\x09\x0b-\x1f\x7f\u202e\u2066]/);
    if (width === 60) for (const l of text.split("\n")) expect(Bun.stringWidth(l)).toBeLessThanOrEqual(60);
  }
  // a snapshot to a pipe cuts no command (docs/CLI.md): the whole line is there to grep, escaped
  const tail = "日本語のファイル名日本語のファイル名日本語のファイル名日本語";
  expect(full.split("\n").some((l) => l.includes(`sort \\x1b[2J\\u{202e}evil ${tail}`))).toBe(true);
  expect(render(snap, view({ width: 60 })).lines.join("\n")).not.toContain(tail);
  // bounded all the same: a 64 KiB command line is cut at SNAPSHOT_CELL_COLUMNS, marked
  const long = proc(root, ["cat", "y".repeat(65536)], 100);
  w.sample(long, { at: T0 + 1000, cpuPct: 1, rssKb: 1 });
  w.flush();
  const big = render(
    { at: T0, runs: [topRun(new RunWatch(db, runId, rules).poll(T0 + 2000)!, T0 + 2000)] },
    view({ width: Number.POSITIVE_INFINITY }),
  ).lines;
  const row = big.find((l) => l.includes(" cat yyy"))!;
  expect(row).toContain("y…");
  expect(Bun.stringWidth(row)).toBeLessThan(SNAPSHOT_CELL_COLUMNS + 100);
  expect(Bun.stringWidth(fit("日本語のファイル", 7))).toBeLessThanOrEqual(7);
  expect(fit("日本語のファイル", 7).endsWith("…")).toBe(true);
  expect(fit("short", 7)).toBe("short");
});

test("the screen never exceeds its height and keeps the selected step on it", () => {
  const steps = Array.from({ length: 60 }, (_, i) => ({
    key: `r:${i}`,
    index: i + 1,
    name: `step${i + 1}`,
    state: "running" as const,
    startedAt: T0 + i,
    elapsedMs: 1000,
    cpuPct: 60 - i,
    rssKb: 100,
    ioRate: null,
    processes: 1,
    exit: "",
    live: [],
  }));
  const snap: Snapshot = {
    at: T0,
    runs: [
      {
        id: "r",
        name: "many",
        pipeline: "p",
        status: "running",
        mode: "m",
        elapsedMs: 1,
        exit: "",
        processes: 60,
        liveProcesses: 60,
        notFollowed: 0,
        host: null,
        running: 60,
        done: 0,
        failed: 0,
        hidden: 0,
        steps,
        other: [],
      },
    ],
  };
  const v = view({ interactive: true, expanded: new Set<string>(), height: 20, selected: "r:50" });
  const s = render(snap, v);
  expect(s.lines.length).toBeLessThanOrEqual(20);
  expect(s.lines.some((l) => /\bstep51\b/.test(l))).toBe(true);
  expect(s.keys.length).toBe(60);
  // sorted by CPU: step1 (60 %) first; by name: step1, step10, step11, …
  expect(render(snap, { ...v, selected: undefined }).lines[5]).toMatch(/\bstep1\b/);
  expect(render(snap, { ...v, sort: "name", selected: undefined }).lines[6]).toMatch(/\bstep10\b/);
});

test("100,000 processes: after the first poll, a poll reads only the live processes and does not regroup", () => {
  const big = writeBigRun("pipeline", 100_000, tempDir());
  // make it a run being recorded with 1 % of its processes alive
  const rw = new Database(big.dbPath);
  rw.query("UPDATE runs SET ended_at = NULL, status = 'running', recorder_pid = ? WHERE id = ?").run(
    process.pid,
    big.runId,
  );
  rw.exec("UPDATE processes SET ended_at = NULL WHERE id % 100 = 0");
  const liveCount = (
    rw.query("SELECT count(*) AS n FROM processes WHERE ended_at IS NULL").get() as { n: number }
  ).n;
  rw.close();
  const db = new Database(big.dbPath, { readonly: true });
  const watch = new RunWatch(db, big.runId, rules);
  const state = watch.poll(Date.now())!;
  const run = topRun(state, Date.now());
  expect(watch.stats).toEqual({ rowsRead: big.processes, regroups: 1 });
  expect(run.processes).toBe(big.processes);
  expect(run.liveProcesses).toBe(liveCount);
  // an object for each live process only: the ended ones were grouped from columns, not kept
  expect(state.watched.size).toBe(liveCount);
  // every running step, the newest ended ones; the rest counted, not built
  expect(run.steps.length).toBeLessThan(1000);
  expect(run.hidden + run.steps.length).toBe(run.running + run.done + run.failed);
  watch.poll(Date.now() + 1100);
  watch.poll(Date.now() + 2200);
  expect(watch.stats).toEqual({ rowsRead: big.processes + 2 * liveCount, regroups: 1 });
  db.close();
}, 120_000);

test("a process newer than the grouping joins its nearest grouped ancestor's step, through ended ones no longer watched", () => {
  const { db, runId, w, proc } = liveStore();
  const root = proc(undefined, ["bash", "pipe.sh"], 0);
  const bwa = proc(root, ["bwa", "mem", "r.fa", "x.fq"], 100);
  w.flush();
  const watch = new RunWatch(db, runId, rules);
  const bwaStep = (now: number) => {
    const state = watch.poll(now)!;
    const step = topRun(state, now).steps.find((s) => s.name === "bwa mem")!;
    return { state, step, pids: step.live.map((p) => p.pid).sort((a, b) => a - b) };
  };
  expect(bwaStep(T0 + 2000).pids).toEqual([bwa.pid]);
  // bwa starts a shell (read at the next poll), which starts cat and ends: all before the next grouping
  const sh = proc(bwa, ["/bin/sh", "-c", "cat x.fq"], 2050);
  w.flush();
  bwaStep(T0 + 2100);
  const cat = proc(sh, ["cat", "x.fq"], 2150);
  Object.assign(sh, { endedAt: T0 + 2160, exitCode: 0 });
  w.process(sh);
  w.flush();
  // the shell is watched for a few polls after its end, then dropped: cat still finds bwa's step
  for (const now of [T0 + 2200, T0 + 2300, T0 + 2400]) expect(bwaStep(now).pids).toEqual([bwa.pid, cat.pid]);
  const before = bwaStep(T0 + 2500);
  expect(watch.stats.regroups).toBe(1);
  expect([...before.state.watched.values()].map((p) => p.pid).sort((a, b) => a - b)).toEqual([
    root.pid,
    bwa.pid,
    cat.pid,
  ]);
  expect(before.state.processCount).toBe(4);
  expect(before.pids).toEqual([bwa.pid, cat.pid]);
  // the next grouping holds them in the step
  const after = bwaStep(T0 + 3100);
  expect(watch.stats.regroups).toBe(2);
  expect(after.pids).toEqual([bwa.pid, cat.pid]);
  expect(after.step.processes).toBe(3);
});

test("a run removed from the store while shown is dropped (default view) or named as removed (RUN given)", () => {
  const { db, dbPath: path, runId, w, proc } = liveStore();
  proc(undefined, ["sort", "in"], 0);
  w.flush();
  const followed = new TopSession({ rules, dbPath: path });
  const named = new TopSession({ rules, dbPath: path, run: runId });
  expect(followed.poll().runs.map((r) => r.id)).toEqual([runId]);
  expect(named.poll().runs.map((r) => r.id)).toEqual([runId]);
  db.exec("PRAGMA foreign_keys = ON");
  db.query("DELETE FROM runs WHERE id = ?").run(runId);
  const after = followed.poll();
  expect(after.runs).toEqual([]);
  expect(render(after, view()).lines.join("\n")).toContain("no active run");
  expect(named.poll().note).toBe(`run ${runId} was removed from the store`);
  followed.close();
  named.close();
});

test("keys read together from the terminal are told apart, escape sequences kept whole", () => {
  expect(splitKeys("\x1b[B\r")).toEqual(["\x1b[B", "\r"]);
  expect(splitKeys("jj\x1bOAq")).toEqual(["j", "j", "\x1bOA", "q"]);
  expect(splitKeys("\x1b[6~\x1b")).toEqual(["\x1b[6~", "\x1b"]);
});

test("same-named steps carry their ordinal, as the report labels them (gzip #1, gzip #2)", () => {
  const { db, runId, w, proc } = liveStore();
  const root = proc(undefined, ["bash", "pipe.sh"], 0);
  proc(root, ["samtools", "sort", "-o", "a.bam", "a.sam"], 100, { endedAt: T0 + 200, exitCode: 0 });
  proc(root, ["samtools", "sort", "-o", "b.bam", "b.sam"], 300, { endedAt: T0 + 400, exitCode: 0 });
  w.flush();
  const run = topRun(new RunWatch(db, runId, rules).poll(T0 + 1000)!, T0 + 1000);
  const names = run.steps.map((s) => s.name).filter((n) => n.startsWith("samtools sort"));
  expect(names.sort()).toEqual(["samtools sort #1", "samtools sort #2"]);
  // the same labels as the report's step table
  const table = renderTable(loadReport(db, runId, rules), 200);
  for (const n of names) expect(table).toContain(n);
});
