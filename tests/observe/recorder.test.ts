/**
 * The recorder on real processes with events fed by hand: scope (only our tree), threads ignored,
 * taskstats figures that arrive before the fork event, and the proc-poll source end to end.
 */
import { afterAll, expect, setSystemTime, test } from "bun:test";
import { join } from "node:path";
import { ProcPollSource } from "../../src/observe/poll.ts";
import { readCmdline } from "../../src/observe/procfs.ts";
import { SETTLE_MS } from "../../src/observe/_tracks.ts";
import { Recorder, type RecorderOptions } from "../../src/observe/recorder.ts";
import type { ExitFigures } from "../../src/observe/types.ts";
import { StoreWriter, createRun, listProcesses, openStore } from "../../src/store/index.ts";
import { cleanupTemp, tempDir, waitFor } from "../helpers/harness.ts";

afterAll(cleanupTemp);

function setup(opts: RecorderOptions = {}) {
  const db = openStore(join(tempDir(), "tracer.db"));
  createRun(db, {
    id: "r",
    name: "r",
    pipeline: "p",
    command: [],
    cwd: "/",
    host: "h",
    mode: "test",
    recorderPid: process.pid,
    startedAt: Date.now(),
  });
  const writer = new StoreWriter(db, "r");
  return { db, writer, rec: new Recorder(writer, process.pid, opts) };
}

const figures = (pid: number, over: Partial<ExitFigures> = {}): ExitFigures => ({
  tgid: pid,
  pid,
  comm: "sleep",
  exitCode: 0,
  beginSec: Math.floor(Date.now() / 1000),
  elapsedUs: 123_456,
  userUs: 1000,
  systemUs: 2000,
  peakRssKb: 777,
  peakVmKb: 900,
  rchar: 1,
  wchar: 2,
  readBytes: 3,
  writeBytes: 4096,
  ...over,
});

test("scope, threads (the process ends with its last one), figures that arrive before the fork", async () => {
  const { db, rec } = setup();
  const child = Bun.spawn(["sleep", "5"]);
  let forkAt = 0;
  try {
    // exec sets comm before the new argv is in place (begin_new_exec, then the ELF loader): wait for
    // the command line itself, which is what the recorder reads
    await waitFor(() => readCmdline(child.pid)?.join(" ") === "sleep 5", 5000, "exec");
    // figures first (the taskstats socket was drained before the connector's)
    rec.onExitFigures(figures(child.pid));
    forkAt = Date.now();
    rec.onEvent({
      type: "fork",
      at: forkAt,
      pid: child.pid,
      tgid: child.pid,
      ppid: process.pid,
      ptgid: process.pid,
    });
    rec.onEvent({ type: "exec", at: Date.now(), pid: child.pid, tgid: child.pid });
    // a thread of ours and a process outside our tree: both ignored
    rec.onEvent({
      type: "fork",
      at: Date.now(),
      pid: 999_999,
      tgid: child.pid,
      ppid: process.pid,
      ptgid: process.pid,
    });
    rec.onEvent({ type: "fork", at: Date.now(), pid: 1, tgid: 1, ppid: 0, ptgid: 0 });
    // the leader exits first; the process ends with its last thread
    rec.onEvent({ type: "exit", at: forkAt + 50, pid: child.pid, tgid: child.pid, exitCode: 0 });
    rec.onEvent({ type: "exit", at: forkAt + 80, pid: 999_999, tgid: child.pid, exitCode: 0 });
    rec.flush();
  } finally {
    child.kill();
    await child.exited;
  }
  const rows = listProcesses(db, "r");
  expect(rows.length).toBe(1);
  expect(rows[0]).toMatchObject({
    pid: child.pid,
    argv: ["sleep", "5"],
    exitCode: 0,
    // times are the events' (taskstats' elapsed time ends before the teardown)
    startedAt: forkAt,
    endedAt: forkAt + 80,
    durationUs: 80_000,
    peakRssKb: 777,
    writeBytes: 4096,
    figures: "taskstats",
  });
  db.close();
});

test("threads whose exit events come after their leader's: the status is wait4's (the group's exit, else the leader's)", async () => {
  const { db, rec } = setup();
  // three real processes (the recorder reads /proc as it meets them), each given threads by fake events
  const kids = [0, 1, 2].map(() => Bun.spawn(["sleep", "5"]));
  const t0 = Date.now();
  try {
    for (const k of kids) await waitFor(() => readCmdline(k.pid)?.[0] === "sleep", 5000, "exec");
    const threads = (pid: number, base: number) => {
      rec.onEvent({ type: "fork", at: t0, pid, tgid: pid, ppid: process.pid, ptgid: process.pid });
      rec.onEvent({ type: "exec", at: t0 + 1, pid, tgid: pid });
      for (let i = 1; i <= 2; i++)
        rec.onEvent({ type: "fork", at: t0 + 2, pid: base + i, tgid: pid, ppid: pid, ptgid: pid });
    };
    const exit = (pid: number, tgid: number, at: number, s: { exitCode?: number; signal?: number }) =>
      rec.onEvent({ type: "exit", at: t0 + at, pid, tgid, ...s });
    const [a, b, c] = kids.map((k) => k.pid);
    // a: joined its threads, then _exit(143); each joined thread's event is sent at the end of its
    // teardown, after the leader's (the case an attack found: recorded 0)
    threads(a!, 900_000);
    exit(a!, a!, 10, { exitCode: 143 });
    exit(900_001, a!, 11, { exitCode: 0 });
    exit(900_002, a!, 12, { exitCode: 0 });
    // b: pthread_exit in main, then a thread's exit(3): a group exit, every thread left exits 3
    threads(b!, 910_000);
    exit(b!, b!, 10, { exitCode: 0 });
    exit(910_001, b!, 11, { exitCode: 3 });
    exit(910_002, b!, 12, { exitCode: 3 });
    // c: pthread_exit in main, then a thread killed by SIGKILL: the group's end by that signal
    threads(c!, 920_000);
    exit(c!, c!, 10, { exitCode: 0 });
    exit(920_001, c!, 11, { exitCode: 0 });
    exit(920_002, c!, 12, { signal: 9 });
    rec.flush(true);
  } finally {
    for (const k of kids) k.kill();
    await Promise.all(kids.map((k) => k.exited));
  }
  const rows = listProcesses(db, "r");
  const of = (k: { pid: number }) => rows.find((r) => r.pid === k.pid);
  expect(of(kids[0]!)).toMatchObject({ exitCode: 143, endedAt: t0 + 12 });
  expect(of(kids[1]!)).toMatchObject({ exitCode: 3 });
  expect(of(kids[2]!)?.signal).toBe(9);
  db.close();
});

test("proc-poll source: a child tree with its exit code caught as a zombie", async () => {
  const { db, rec } = setup();
  const poll = new ProcPollSource(process.pid, 10);
  poll.onEvent(rec.onEvent);
  await poll.start();
  // the inner shell exits 4 and stays a zombie for a while (its parent exec'd into sleep)
  const child = Bun.spawn(["sh", "-c", "(sleep 0.1; exit 4) & exec sleep 0.6"]);
  await child.exited;
  await poll.stop();
  // the run's end: every process written (a flush before it holds an ended one for its figures)
  rec.flush(true);
  const rows = listProcesses(db, "r");
  const inner = rows.find((r) => r.exitCode === 4);
  expect(inner).toBeDefined();
  expect(rows.find((r) => r.pid === child.pid)?.argv).toEqual(["sleep", "0.6"]);
  expect(inner!.parentId).toBe(rows.find((r) => r.pid === child.pid)!.id);
  expect(poll.stats().events).toBeGreaterThanOrEqual(4);
  db.close();
});

test("an ended process is written once, with its exit figures, though a flush came between its exit and them", async () => {
  // taskstats hands a group over one drain after its record, and drains are up to 500 ms apart: a
  // flush in between wrote ~2 in 3 processes of a 200-step pipeline twice (without figures, then with)
  const { db, rec } = setup();
  const changes = () => (db.query("SELECT total_changes() AS n").get() as { n: number }).n;
  const spawnEnded = async () => {
    const child = Bun.spawn(["sleep", "0.05"]);
    await waitFor(() => readCmdline(child.pid)?.join(" ") === "sleep 0.05", 5000, "exec");
    const at = Date.now();
    rec.onEvent({ type: "fork", at, pid: child.pid, tgid: child.pid, ppid: process.pid, ptgid: process.pid });
    rec.onEvent({ type: "exec", at, pid: child.pid, tgid: child.pid });
    await child.exited;
    rec.onEvent({ type: "exit", at: Date.now(), pid: child.pid, tgid: child.pid, exitCode: 0 });
    return child.pid;
  };
  const rowOf = (pid: number) => listProcesses(db, "r").find((r) => r.pid === pid);
  const withFigures = await spawnEnded();
  const before = changes();
  rec.flush();
  expect(rowOf(withFigures)).toBeUndefined();
  rec.onExitFigures(figures(withFigures, { ppid: process.pid }));
  rec.flush();
  expect(rowOf(withFigures)?.figures).toBe("taskstats");
  expect(rowOf(withFigures)?.exitCode).toBe(0);
  // one INSERT, no UPDATE
  expect(changes() - before).toBe(1);
  // figures that never come (no taskstats, or lost): written SETTLE_MS after its end, without them
  const without = await spawnEnded();
  rec.flush();
  expect(rowOf(without)).toBeUndefined();
  setSystemTime(new Date(Date.now() + SETTLE_MS));
  try {
    rec.flush();
  } finally {
    setSystemTime();
  }
  expect(rowOf(without)?.figures).toBeNull();
  expect(rowOf(without)?.exitCode).toBe(0);
  db.close();
});

test("figures whose fork event never came: adopted when the parent at exit is in the run", () => {
  const { db, rec } = setup();
  // pids that do not exist: a process that lived inside a loss gap, and one from outside the run
  rec.onExitFigures(figures(4_000_001, { ppid: process.pid, comm: "lost", exitCode: 2 }));
  rec.onExitFigures(figures(4_000_002, { ppid: 1, comm: "stranger" }));
  rec.flush(true);
  const rows = listProcesses(db, "r");
  expect(rows.map((r) => [r.pid, r.comm, r.exitCode, r.figures])).toEqual([
    [4_000_001, "lost", 2, "taskstats"],
  ]);
  expect(rec.recovered).toBe(1);
  db.close();
});

test("figures whose fork is still queued behind a source's backlog are not declared lost", () => {
  const { db, writer } = setup();
  let caughtUp = false;
  const rec = new Recorder(writer, process.pid, { sync: () => caughtUp });
  const t0 = Date.now();
  setSystemTime(new Date(t0));
  try {
    const pid = 4_000_010;
    rec.onExitFigures(figures(pid, { ppid: process.pid, comm: "late", beginSec: Math.floor(t0 / 1000) }));
    // long past the settle time, while a capped drain leaves the connector behind: the report waits
    setSystemTime(new Date(t0 + 5_000));
    rec.flush();
    expect(rec.recovered).toBe(0);
    // its fork, exec and exit come with the next drain: one row, not a recovered one beside it
    rec.onEvent({ type: "fork", at: t0, pid, tgid: pid, ppid: process.pid, ptgid: process.pid });
    rec.onEvent({ type: "exec", at: t0, pid, tgid: pid });
    rec.onEvent({ type: "exit", at: t0 + 1, pid, tgid: pid, exitCode: 0 });
    caughtUp = true;
    rec.flush(true);
    expect(rec.recovered).toBe(0);
    expect(
      listProcesses(db, "r")
        .filter((r) => r.pid === pid)
        .map((r) => r.figures),
    ).toEqual(["taskstats"]);
  } finally {
    setSystemTime();
    db.close();
  }
});

test("memory: ended processes are forgotten, whatever the order of their reports; one row each", () => {
  const { db, rec } = setup();
  const t0 = Date.now();
  let now = t0;
  setSystemTime(new Date(now));
  try {
    // 20,000 sequential processes at 1,000/s (pids that cannot exist: beyond pid_max), each with its
    // reports in a different order: fork, exit, figures, or figures first, or a reap before the exit
    const N = 20_000;
    let maxHeld = 0;
    for (let i = 0; i < N; i++) {
      const pid = 5_000_000 + i;
      const fork = () =>
        rec.onEvent({ type: "fork", at: now, pid, tgid: pid, ppid: process.pid, ptgid: process.pid });
      const exec = () => rec.onEvent({ type: "exec", at: now, pid, tgid: pid });
      const exit = () => rec.onEvent({ type: "exit", at: now + 0.5, pid, tgid: pid, exitCode: 0 });
      const figs = () => rec.onExitFigures(figures(pid, { beginSec: Math.floor(now / 1000) }));
      const reap = () =>
        rec.onReaped({ pid, exitCode: 0, coreDumped: false, userUs: 1, systemUs: 1, maxRssKb: 10 }, now + 1);
      const orders = [
        [fork, exec, exit, figs],
        [figs, fork, exec, exit],
        [fork, exec, reap, exit, figs],
        [reap, fork, exec, figs, exit],
      ];
      for (const step of orders[i % 4]!) step();
      if (i % 100 === 99) {
        now += 100;
        setSystemTime(new Date(now));
        rec.flush();
        const h = rec.held();
        maxHeld = Math.max(maxHeld, h.live + h.ended + h.stubs);
      }
    }
    rec.flush(true);
    // bounded by the window (about 1 s of ended records, 5 s of stubs at 1,000/s), not by N
    expect(maxHeld).toBeLessThan(8000);
    expect(rec.held().live).toBe(0);
    const n = db.query("SELECT count(*) AS n, count(DISTINCT pid) AS d FROM processes").get() as {
      n: number;
      d: number;
    };
    expect(n).toEqual({ n: N, d: N });
    const bad = db
      .query("SELECT count(*) AS n FROM processes WHERE exit_code IS NULL OR ended_at < started_at")
      .get();
    expect(bad).toEqual({ n: 0 });
  } finally {
    setSystemTime();
    db.close();
  }
});

test("no flush for a while (a late timer): ended processes are written and forgotten once 2,000 pile up", () => {
  const run = (backlog: boolean) => {
    const { db, writer } = setup();
    const rec: Recorder = new Recorder(
      writer,
      process.pid,
      backlog ? { onBacklog: () => rec.writeNow() } : {},
    );
    let maxEnded = 0;
    // 10,000 processes reaped by tracer (orphans), every report in: complete once written
    for (let i = 0; i < 10_000; i++) {
      const pid = 5_000_000 + i;
      const at = Date.now();
      rec.onEvent({ type: "fork", at, pid, tgid: pid, ppid: process.pid, ptgid: process.pid });
      rec.onEvent({ type: "exec", at, pid, tgid: pid });
      rec.onReaped({ pid, exitCode: 0, coreDumped: false, userUs: 1, systemUs: 1, maxRssKb: 10 }, at + 1);
      rec.onEvent({ type: "exit", at: at + 0.5, pid, tgid: pid, exitCode: 0 });
      rec.onExitFigures(figures(pid));
      maxEnded = Math.max(maxEnded, rec.held().ended);
    }
    rec.flush(true);
    const rows = db.query("SELECT count(*) AS n, count(DISTINCT pid) AS d FROM processes").get();
    db.close();
    return { maxEnded, rows };
  };
  const without = run(false);
  const withBacklog = run(true);
  expect(without).toEqual({ maxEnded: 10_000, rows: { n: 10_000, d: 10_000 } });
  expect(withBacklog.rows).toEqual({ n: 10_000, d: 10_000 });
  expect(withBacklog.maxEnded).toBeLessThanOrEqual(2000);
});

test("CMD gone before /proc could be read: recorded with the argv and cwd tracer exec'd it with, once", async () => {
  const { db, writer, rec } = setup();
  // a process that has ended and been reaped: /proc shows nothing of it any more
  const p = Bun.spawn(["true"]);
  await p.exited;
  const at = Date.now();
  rec.spawned(p.pid, at, { argv: ["bash", "-c", "sort x | wc -l"], cwd: "/work/here" });
  // the supervisor's report again (or a late fork event's path): the same process, no second record
  rec.spawned(p.pid, at, { argv: ["bash", "-c", "sort x | wc -l"], cwd: "/work/here" });
  rec.flush(true);
  const rows = listProcesses(db, "r").filter((r) => r.pid === p.pid);
  expect(rows).toHaveLength(1);
  expect(rows[0]!.argv).toEqual(["bash", "-c", "sort x | wc -l"]);
  expect(rows[0]!.cwd).toBe("/work/here");
  expect(rec.stats().processes).toBe(1);
  expect(rec.stats().argvLost).toBe(0);
  writer.flush();
});

test("CMD that exec'd again and was gone before its events were read: tracer's argv is its prior command line, not its last image's", async () => {
  const { db, writer, rec } = setup();
  // reaped already: /proc shows nothing of it, and the watcher read neither exec (both lost)
  const p = Bun.spawn(["true"]);
  await p.exited;
  const at = Date.now();
  // its fork by tracer, its exec of bash, bash's exec of its last command in its own place, its exit:
  // all read before the supervisor reports the spawn
  rec.onEvent({ type: "fork", at, ppid: process.pid, ptgid: process.pid, pid: p.pid, tgid: p.pid });
  rec.onEvent({ type: "exec", at: at + 1, pid: p.pid, tgid: p.pid });
  rec.onEvent({ type: "exec", at: at + 3, pid: p.pid, tgid: p.pid });
  rec.onEvent({ type: "exit", at: at + 4, pid: p.pid, tgid: p.pid, exitCode: 0 });
  rec.spawned(p.pid, at, { argv: ["bash", "-c", "./samtools faidx ref.fa; ./samtools index x"], cwd: "/w" });
  rec.flush(true);
  const rows = listProcesses(db, "r").filter((r) => r.pid === p.pid);
  expect(rows).toHaveLength(1);
  // before: argv bash's, for the image bash became (its comm the tool's)
  expect(rows[0]!.argv).toBeNull();
  expect(rows[0]!.priorArgv).toEqual(["bash", "-c", "./samtools faidx ref.fa; ./samtools index x"]);
  expect(rec.stats().argvLost).toBe(1);
  writer.flush();
});

test("CMD's baseline bounds its earlier images only when its last exec came after the ledger entered it", async () => {
  // CMD (tracer's vfork child) exec'd its image, then exec'd again; the ledger, its attach delayed by
  // another eBPF user, entered it late with tracer's peak (47 MiB) as the baseline. A last exec before
  // the entry replaced an image nothing bounded (100 MiB, an attack, 2 Dec 2026): no bound (+Infinity)
  const row = async (enteredAfterMs: number) => {
    const p = Bun.spawn(["true"]);
    await p.exited;
    const at = Date.now();
    const { db, rec } = setup({
      ledger: () => ({
        runtimeNs: 1e6,
        maxRssKb: undefined,
        io: undefined,
        execRuntimeNs: 5e5,
        execPeakBoundKb: 48_000,
        exitedAt: undefined,
        exitTicks: undefined,
        enteredAt: at + enteredAfterMs,
      }),
    });
    rec.onEvent({ type: "fork", at, ppid: process.pid, ptgid: process.pid, pid: p.pid, tgid: p.pid });
    rec.onEvent({ type: "exec", at: at + 1, pid: p.pid, tgid: p.pid });
    rec.onEvent({ type: "exec", at: at + 10, pid: p.pid, tgid: p.pid });
    rec.onEvent({ type: "exit", at: at + 20, pid: p.pid, tgid: p.pid, exitCode: 0 });
    rec.spawned(p.pid, at, { argv: ["hpop", "100", "/bin/true"], cwd: "/w" });
    rec.flush(true);
    const rows = db.query("SELECT exec_peak_rss_kb AS kb FROM processes WHERE pid = ?").all(p.pid) as {
      kb: number | null;
    }[];
    db.close();
    expect(rows).toHaveLength(1);
    return rows[0]!.kb;
  };
  // entered between its two execs: the kernel saw the last one, its bound holds
  expect(await row(5)).toBe(48_000);
  // entered after both: its last exec unseen, the baseline bounds only tracer's image
  expect(await row(15)).toBe(Number.POSITIVE_INFINITY);
  // entered within a millisecond after it: counted as before
  expect(await row(9.5)).toBe(Number.POSITIVE_INFINITY);
});

test("a fork read after its pid went to another process: nothing of that other process is taken as its own", async () => {
  const { db, rec } = setup();
  // the pid's present holder, with a command line, cwd and start time of its own
  const other = Bun.spawn(["sleep", "5"], { cwd: "/tmp" });
  try {
    await waitFor(() => readCmdline(other.pid)?.join(" ") === "sleep 5", 5000, "exec");
    // the connector's fork (and exec) of the pid's former holder, a minute ago: read late, after its
    // reap and the pid's reuse (its start ticks are not the holder's)
    const at = Date.now() - 60_000;
    rec.onEvent({ type: "fork", at, pid: other.pid, tgid: other.pid, ppid: process.pid, ptgid: process.pid });
    rec.onEvent({ type: "exec", at: at + 5, pid: other.pid, tgid: other.pid });
    rec.flush(true);
    const rows = listProcesses(db, "r").filter((r) => r.pid === other.pid);
    expect(rows).toHaveLength(1);
    expect(rows[0]!.startedAt).toBe(at);
    expect(rows[0]!.argv).not.toEqual(["sleep", "5"]);
    expect(rows[0]!.cwd).not.toBe("/tmp");
  } finally {
    other.kill();
    await other.exited;
  }
});

test("an exit stamped after the parent it notified had ended is bounded by that parent's end; a reparented one is not", async () => {
  // The connector stamps an exit after exit_notify: a child preempted between the two can be stamped
  // after its parent reaped it and exited (newcomer: 7.3 ms after). Real processes (for /proc), events by
  // hand in the order the socket gives them: the parent's exit first, then the child's, stamped later.
  const { db, rec } = setup();
  const parent = Bun.spawn(["sh", "-c", "sleep 5 & sleep 5 & wait"]);
  try {
    await waitFor(() => (readCmdline(parent.pid)?.[0] ?? "") === "sh", 5000, "sh");
    let kids: number[] = [];
    await waitFor(
      () => {
        const out = Bun.spawnSync(["pgrep", "-P", String(parent.pid)])
          .stdout.toString()
          .trim();
        kids = out ? out.split("\n").map(Number) : [];
        return kids.length === 2 && kids.every((p) => readCmdline(p)?.join(" ") === "sleep 5");
      },
      5000,
      "two sleeps",
    );
    const [a, b] = kids;
    const T = Date.now();
    const fork = (pid: number, ppid: number, at: number) =>
      rec.onEvent({ type: "fork", at, pid, tgid: pid, ppid, ptgid: ppid });
    fork(parent.pid, process.pid, T);
    rec.onEvent({ type: "exec", at: T + 1, pid: parent.pid, tgid: parent.pid });
    fork(a!, parent.pid, T + 2);
    fork(b!, parent.pid, T + 3);
    rec.onEvent({
      type: "exit",
      at: T + 100,
      pid: parent.pid,
      tgid: parent.pid,
      exitCode: 0,
      parentTgid: process.pid,
    });
    // a: stamped 7 ms after its parent's end, naming that parent: ended no later than it
    rec.onEvent({ type: "exit", at: T + 107, pid: a!, tgid: a!, exitCode: 0, parentTgid: parent.pid });
    // b: reparented (its parent died first): the new parent named, its own time kept
    rec.onEvent({ type: "exit", at: T + 150, pid: b!, tgid: b!, exitCode: 0, parentTgid: 1 });
    rec.flush(true);
  } finally {
    parent.kill();
    await parent.exited;
  }
  const rows = listProcesses(db, "r");
  const end = (pid: number) => rows.find((r) => r.pid === pid)?.endedAt;
  const sh = rows.find((r) => r.argv?.[0] === "sh")!;
  const sleeps = rows.filter((r) => r.parentId === sh.id).sort((x, y) => x.startedAt! - y.startedAt!);
  expect(sleeps).toHaveLength(2);
  expect(end(sh.pid)).toBe(sh.startedAt! + 100);
  expect(end(sleeps[0]!.pid)).toBe(sh.startedAt! + 100);
  expect(end(sleeps[1]!.pid)).toBe(sh.startedAt! + 150);
  db.close();
});

test("priorArgv is the first image's own read or unknown: never a later exec's read that answered for it", () => {
  // a chain's first exec whose own read was lost is answered by the watcher's nearest later read (what
  // the process shows by then); that was kept as the first image's command line (`selfexec 19` for
  // `selfexec 20`, tests/run/kernel-argv.test.ts)
  const chain = (firstRead: "own" | "later") => {
    const { db, writer } = setup();
    const t0 = Date.now();
    const reads = [
      { at: t0 + 1, argv: ["selfexec", "20"] },
      { at: t0 + 1.05, argv: ["selfexec", "19"] },
    ].filter((_r, i) => i > 0 || firstRead === "own");
    const rec = new Recorder(writer, process.pid, {
      // the remembered read nearest `at`, else the latest (ExecWatcher.lookup)
      execArgv: (_pid, at) => {
        const e = reads.reduce((b, r) => (Math.abs(r.at - at) < Math.abs(b.at - at) ? r : b));
        return { at: e.at, argv: e.argv, argvBytes: 12, argvTruncated: false };
      },
    });
    const pid = 4_000_020;
    rec.onEvent({ type: "fork", at: t0, pid, tgid: pid, ppid: process.pid, ptgid: process.pid });
    rec.onEvent({ type: "exec", at: t0 + 1, pid, tgid: pid });
    rec.onEvent({ type: "exec", at: t0 + 1.05, pid, tgid: pid });
    rec.onEvent({ type: "exit", at: t0 + 2, pid, tgid: pid, exitCode: 0 });
    rec.flush(true);
    const [p] = listProcesses(db, "r");
    db.close();
    return { argv: p!.argv, priorArgv: p!.priorArgv ?? undefined };
  };
  expect(chain("own")).toEqual({ argv: ["selfexec", "19"], priorArgv: ["selfexec", "20"] });
  expect(chain("later")).toEqual({ argv: ["selfexec", "19"], priorArgv: undefined });
});
