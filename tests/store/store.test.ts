/** The embedded store on real SQLite files: migrations, identity by (pid, start time), the batched writer. */
import { Database } from "bun:sqlite";
import { afterAll, expect, test } from "bun:test";
import { join } from "node:path";
import {
  SCHEMA_VERSION,
  StoreWriter,
  createRun,
  findRun,
  finishRun,
  inTransaction,
  listProcesses,
  listRuns,
  openStore,
  processStart,
  type ProcessRecord,
} from "../../src/store/index.ts";
import { MIGRATIONS } from "../../src/store/_migrations.ts";
import { cleanupTemp, tempDir } from "../helpers/harness.ts";

afterAll(cleanupTemp);

const newRun = (db: Database, id: string, name = "r", startedAt = Date.now()) =>
  createRun(db, {
    id,
    name,
    pipeline: "p",
    command: ["true"],
    cwd: "/",
    host: "h",
    mode: "proc-poll",
    recorderPid: process.pid,
    startedAt,
  });

/** A database as the first tracer left it: schema 1, one finished run "old" with 3 events lost. */
function schemaOne(path: string) {
  const raw = new Database(path, { create: true });
  raw.exec(MIGRATIONS[0]!);
  raw.exec("PRAGMA user_version = 1");
  raw.exec(
    "INSERT INTO runs (id, name, pipeline, command, cwd, host, mode, recorder_pid, started_at, ended_at, events_lost, status) " +
      `VALUES ('old', 'old', 'p', '["true"]', '/', 'h', 'proc-poll', 1, 1000, 2000, 3, 'done')`,
  );
  raw.close();
}

test("a fresh database is in WAL mode at the current schema; reopening migrates nothing", () => {
  const path = join(tempDir(), "state", "tracer.db");
  const db = openStore(path);
  expect(db.query("PRAGMA journal_mode").get()).toEqual({ journal_mode: "wal" });
  expect(db.query("PRAGMA user_version").get()).toEqual({ user_version: SCHEMA_VERSION });
  const tables = db.query("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name").all();
  expect(tables.map((t) => (t as { name: string }).name)).toEqual([
    "processes",
    "runs",
    "samples",
    "system_metrics",
  ]);
  newRun(db, "run-1");
  db.close();
  const again = openStore(path);
  expect(listRuns(again).map((r) => r.id)).toEqual(["run-1"]);
  again.close();
});

test("a schema-1 database (an older tracer's) is migrated in place, its runs kept", () => {
  const path = join(tempDir(), "tracer.db");
  schemaOne(path);
  const db = openStore(path);
  expect(db.query("PRAGMA user_version").get()).toEqual({ user_version: SCHEMA_VERSION });
  expect(SCHEMA_VERSION).toBeGreaterThan(1);
  const r = findRun(db, "old");
  expect(r).toMatchObject({ eventsLost: 3, lossReasons: {}, recovered: 0, status: "done" });
  finishRun(db, "old", {
    endedAt: 3000,
    exitCode: 0,
    eventsLost: 5,
    lossReasons: { ENOBUFS: 1, "seq-gap": 4 },
    recovered: 2,
    mode: "connector+taskstats",
  });
  expect(findRun(db, "old")).toMatchObject({ lossReasons: { ENOBUFS: 1, "seq-gap": 4 }, recovered: 2 });
  db.close();
});

test("a reader (report, runs) of a schema-1 database upgrades it instead of failing on a missing column", () => {
  const path = join(tempDir(), "tracer.db");
  schemaOne(path);
  const db = openStore(path, { readonly: true });
  expect(db.query("PRAGMA user_version").get()).toEqual({ user_version: SCHEMA_VERSION });
  expect(listRuns(db).map((r) => [r.id, r.eventsLost, r.lossReasons])).toEqual([["old", 3, {}]]);
  expect(() => db.exec("DELETE FROM runs")).toThrow(/readonly/);
  db.close();
});

test("a database from a newer tracer is refused, not downgraded", () => {
  const path = join(tempDir(), "tracer.db");
  const raw = new Database(path, { create: true });
  raw.exec(`PRAGMA user_version = ${SCHEMA_VERSION + 1}`);
  raw.close();
  expect(() => openStore(path)).toThrow(/newer than this tracer knows/);
});

test("one row per (pid, start time): updates merge, PID reuse makes a new row, parents link", () => {
  const db = openStore(join(tempDir(), "tracer.db"));
  newRun(db, "run-a");
  const w = new StoreWriter(db, "run-a");
  const parent: ProcessRecord = { pid: 100, startTicks: 5, comm: "sh", startedAt: 1 };
  // the child's start time may read earlier than its parent's (exact fork time vs 10 ms ticks)
  const child: ProcessRecord = { pid: 101, startTicks: 6, comm: "sleep", parent, startedAt: 0.5 };
  w.process(child);
  w.process(parent);
  w.flush();
  child.exitCode = 3;
  child.peakRssKb = 1234;
  w.process(child);
  w.sample(child, { at: 3, cpuPct: 50, rssKb: 1000 });
  const reused: ProcessRecord = { pid: 101, startTicks: 900, comm: "again", startedAt: 9 };
  w.process(reused);
  w.flush();
  const rows = listProcesses(db, "run-a").sort((a, b) => a.pid - b.pid || a.startTicks - b.startTicks);
  expect(rows.map((r) => [r.pid, r.startTicks, r.comm])).toEqual([
    [100, 5, "sh"],
    [101, 6, "sleep"],
    [101, 900, "again"],
  ]);
  expect(rows[1]!.parentId).toBe(rows[0]!.id);
  expect(rows[1]!.exitCode).toBe(3);
  expect(rows[1]!.peakRssKb).toBe(1234);
  expect(db.query("SELECT process_id, cpu_pct FROM samples").all()).toEqual([
    { process_id: rows[1]!.id, cpu_pct: 50 },
  ]);
  db.close();
});

test("runs: finish, find by id, prefix or name, newest by default; a dead recorder's run is interrupted", () => {
  const db = openStore(join(tempDir(), "tracer.db"));
  newRun(db, "0190aaaa-0001", "first", 1000);
  newRun(db, "0190bbbb-0002", "second", 2000);
  finishRun(db, "0190aaaa-0001", { endedAt: 1500, exitCode: 0, eventsLost: 0, mode: "proc-poll" });
  finishRun(db, "0190bbbb-0002", { endedAt: 2500, signal: 9, eventsLost: 2, mode: "proc-poll" });
  expect(findRun(db).name).toBe("second");
  expect(findRun(db, "first").status).toBe("done");
  expect(findRun(db, "0190bbbb").status).toBe("failed");
  expect(findRun(db, "0190bbbb").eventsLost).toBe(2);
  expect(() => findRun(db, "nope")).toThrow(/no run "nope"/);
  expect(() => findRun(db, "0190")).toThrow(/matches several runs/);
  db.query(
    "INSERT INTO runs (id, name, pipeline, command, cwd, host, mode, recorder_pid, started_at) VALUES ('x', 'dead', 'p', '[]', '/', 'h', 'm', 2147483646, 3000)",
  ).run();
  expect(findRun(db, "dead").status).toBe("interrupted");
  db.close();
});

test("a run whose recorder's pid now belongs to another process is interrupted; its own recorder's is running", async () => {
  const db = openStore(join(tempDir(), "tracer.db"));
  const add = (id: string, pid: number, start: string | null) =>
    db
      .query(
        "INSERT INTO runs (id, name, pipeline, command, cwd, host, mode, recorder_pid, recorder_start, started_at) VALUES (?, ?, 'p', '[]', '/', 'h', 'm', ?, ?, 1000)",
      )
      .run(id, id, pid, start);
  // a live process holds the pid the run's recorder had, but it is not the process that wrote the
  // run (another start): a container's init taken again, a pid reused
  const other = Bun.spawn(["sleep", "5"]);
  try {
    const mine = processStart(process.pid)!;
    expect(mine).toMatch(/^[0-9a-f-]{36}:\d+$/);
    add("reused", other.pid, `${mine.split(":")[0]}:1`);
    add("mine", process.pid, mine);
    // an older tracer's row (no start kept): its pid alone decides, as before
    add("old", other.pid, null);
    expect(findRun(db, "reused").status).toBe("interrupted");
    expect(findRun(db, "mine").status).toBe("running");
    expect(findRun(db, "old").status).toBe("running");
    // createRun keeps the start of the process that writes it when that is the recorder
    newRun(db, "made", "made");
    expect(findRun(db, "made")).toMatchObject({ status: "running", recorderStart: mine });
  } finally {
    other.kill();
    await other.exited;
  }
  db.close();
});

test("a flush that fails (database locked) drops nothing: the next flush writes it all, parents linked", () => {
  const path = join(tempDir(), "tracer.db");
  const db = openStore(path);
  newRun(db, "run-b");
  db.exec("PRAGMA busy_timeout = 20");
  const w = new StoreWriter(db, "run-b");
  const parent: ProcessRecord = { pid: 1, startTicks: 1, comm: "sh", startedAt: 1 };
  const child: ProcessRecord = { pid: 2, startTicks: 2, comm: "ls", parent, startedAt: 2 };
  w.process(child);
  w.sample(child, { at: 5, cpuPct: 1, rssKb: 2 });
  const other = new Database(path);
  other.exec("BEGIN IMMEDIATE");
  expect(() => w.flush()).toThrow(/locked|busy/i);
  other.exec("COMMIT");
  other.close();
  w.flush();
  const rows = listProcesses(db, "run-b");
  expect(rows.map((r) => r.comm).sort()).toEqual(["ls", "sh"]);
  expect(rows.find((r) => r.comm === "ls")!.parentId).toBe(rows.find((r) => r.comm === "sh")!.id);
  expect(db.query("SELECT count(*) AS n FROM samples").get()).toEqual({ n: 1 });
  db.close();
});

test("a flush of a 100,000-deep chain written deepest first links every parent (no recursion)", () => {
  const db = openStore(join(tempDir(), "tracer.db"));
  newRun(db, "deep");
  const w = new StoreWriter(db, "deep");
  const chain: ProcessRecord[] = [];
  for (let i = 0; i < 100_000; i++)
    chain.push({ pid: 10 + i, startTicks: 1, parent: chain[i - 1], comm: "chain", startedAt: i });
  // the deepest first: each record's ancestors are all unwritten when it is reached
  for (let i = chain.length - 1; i >= 0; i--) w.process(chain[i]!);
  w.flush();
  const rows = listProcesses(db, "deep");
  expect(rows).toHaveLength(100_000);
  const idOfPid = new Map(rows.map((r) => [r.pid, r.id]));
  for (const r of rows) expect(r.parentId).toBe(r.pid === 10 ? null : idOfPid.get(r.pid - 1)!);
  // a later flush of one record reuses its parent's row id
  chain[500]!.exitCode = 3;
  w.process(chain[500]!);
  w.flush();
  expect(listProcesses(db, "deep").find((r) => r.pid === 510)).toMatchObject({
    exitCode: 3,
    parentId: idOfPid.get(509),
  });
  db.close();
});

test("processes are listed in start order whatever order their rows were written in: an unknown start first, ties by row id", () => {
  const db = openStore(join(tempDir(), "tracer.db"));
  newRun(db, "run-order");
  const w = new StoreWriter(db, "run-order");
  // written (row ids given) in this order; starts out of order, one unknown, two equal
  const starts = [30, 10, undefined, 20, 10, 5.5];
  for (const [i, startedAt] of starts.entries())
    w.process({ pid: 200 + i, startTicks: i, comm: `p${i}`, startedAt });
  w.flush();
  const rows = listProcesses(db, "run-order");
  expect(rows.map((r) => r.comm)).toEqual(["p2", "p5", "p1", "p4", "p3", "p0"]);
  // the order SQLite's ORDER BY started_at, id gives
  const sql = db
    .query("SELECT comm FROM processes WHERE run_id = ? ORDER BY started_at, id")
    .all("run-order") as { comm: string }[];
  expect(rows.map((r) => r.comm)).toEqual(sql.map((r) => r.comm));
  db.close();
});

test("a row id reused by another run's process (the recorded run removed meanwhile) is never written over by the first run's writer", () => {
  // ids are rowids (no AUTOINCREMENT): a deleted run's highest id is handed out again; a run whose
  // recorder another pid namespace cannot see is "interrupted" and may be removed while it is recorded
  const db = openStore(join(tempDir(), "tracer.db"));
  newRun(db, "run-gone");
  const a = new StoreWriter(db, "run-gone");
  const p: ProcessRecord = { pid: 10, startTicks: 5, comm: "first", startedAt: 1 };
  a.process(p);
  a.flush();
  db.query("DELETE FROM runs WHERE id = 'run-gone'").run();
  newRun(db, "run-next");
  const b = new StoreWriter(db, "run-next");
  b.process({ pid: 20, startTicks: 7, comm: "second", startedAt: 2 });
  b.flush();
  const before = listProcesses(db, "run-next");
  expect(before.map((r) => r.id)).toEqual([a.ids.get(p)!]); // the id was reused
  p.exitCode = 9;
  p.comm = "over";
  a.process(p);
  expect(() => a.flush()).toThrow(/FOREIGN KEY/); // its run is gone: nothing of it can be written
  expect(listProcesses(db, "run-next")).toEqual(before);
  db.close();
});

test("inTransaction: a throw or a failed COMMIT rolls all back and rethrows; nested, it is the outer one's", () => {
  const db = openStore(join(tempDir(), "tracer.db"));
  const count = () => (db.query("SELECT count(*) AS n FROM runs").get() as { n: number }).n;
  expect(() =>
    inTransaction(db, () => {
      newRun(db, "t1");
      throw new Error("inside");
    }),
  ).toThrow("inside");
  expect([db.inTransaction, count()]).toEqual([false, 0]);
  // nested: runs in the outer transaction, whose throw takes both back
  expect(() =>
    inTransaction(db, () => {
      newRun(db, "t2");
      inTransaction(db, () => newRun(db, "t3"));
      expect(count()).toBe(2);
      throw new Error("outer");
    }),
  ).toThrow("outer");
  expect([db.inTransaction, count()]).toEqual([false, 0]);
  // a COMMIT that fails (a deferred foreign key: the transaction stays open) is rolled back
  expect(() =>
    inTransaction(db, () => {
      newRun(db, "t4");
      db.exec("PRAGMA defer_foreign_keys = ON");
      db.query("INSERT INTO processes (run_id, pid, start_ticks) VALUES ('no-such-run', 1, 1)").run();
    }),
  ).toThrow(/FOREIGN KEY/);
  expect([db.inTransaction, count()]).toEqual([false, 0]);
  expect(
    inTransaction(db, () => {
      newRun(db, "t5");
      return 7;
    }),
  ).toBe(7);
  expect(count()).toBe(1);
  db.close();
});

test("a record without an id whose row exists (the recorder forgot it) updates that row, then updates by its id; none lost or doubled", () => {
  const db = openStore(join(tempDir(), "tracer.db"));
  newRun(db, "late");
  const w = new StoreWriter(db, "late");
  const first: ProcessRecord = { pid: 5, startTicks: 50, comm: "a", startedAt: 1 };
  const other: ProcessRecord = { pid: 6, startTicks: 60, comm: "b", startedAt: 2 };
  w.process(first);
  w.process(other);
  w.flush();
  // a late report about pid 5 made a new record (same key), and a process reusing pid 5 later
  const again: ProcessRecord = { pid: 5, startTicks: 50, comm: "a", startedAt: 1, exitCode: 4 };
  const reused: ProcessRecord = { pid: 5, startTicks: 70, comm: "c", startedAt: 3 };
  w.process(reused);
  w.process(again);
  w.flush();
  expect(w.ids.get(again)).toBe(w.ids.get(first)!);
  again.peakRssKb = 77;
  w.process(again);
  w.flush();
  const rows = listProcesses(db, "late");
  expect(rows.map((r) => [r.pid, r.startTicks, r.comm, r.exitCode, r.peakRssKb])).toEqual([
    [5, 50, "a", 4, 77],
    [6, 60, "b", null, null],
    [5, 70, "c", null, null],
  ]);
  db.close();
});

test("why stronger capture modes were skipped is kept with the run, on both of createRun's paths", () => {
  const db = openStore(join(tempDir(), "tracer.db"));
  const base = { pipeline: "p", command: ["true"], cwd: "/", host: "h", mode: "proc-poll", recorderPid: 1 };
  const skipped = ["proc-connector: netlink send: ECONNREFUSED", "taskstats: EPERM\u001b[2J"];
  createRun(db, { ...base, id: "begun", name: "begun", startedAt: 1, captureSkipped: skipped });
  createRun(
    db,
    { ...base, id: "ended", name: "ended", startedAt: 2, captureSkipped: skipped },
    { endedAt: 3, exitCode: 0, eventsLost: 0, mode: "proc-poll" },
  );
  createRun(db, { ...base, id: "none", name: "none", startedAt: 4 });
  expect(findRun(db, "begun").captureSkipped).toEqual(skipped);
  expect(findRun(db, "ended").captureSkipped).toEqual(skipped);
  expect(findRun(db, "none").captureSkipped).toEqual([]);
  // listed alike, newest first
  expect(listRuns(db).map((r) => r.captureSkipped)).toEqual([[], skipped, skipped]);
  db.close();
});
