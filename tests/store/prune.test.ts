/**
 * Store housekeeping on real SQLite files through the compiled binary: `runs prune` and `runs rm`
 * remove runs in short transactions, give the space back (the file shrinks), leave kept runs exactly
 * as they were, never touch a run being recorded, and leave queued OTLP items until they are sent.
 */
import { Database } from "bun:sqlite";
import { afterAll, describe, expect, test } from "bun:test";
import { statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Outbox, queuedForRuns } from "../../src/export/outbox.ts";
import { runResource } from "../../src/export/otlp.ts";
import { MIGRATIONS } from "../../src/store/_migrations.ts";
import {
  type ProcessRecord,
  StoreWriter,
  autoRunName,
  createRun,
  finishRun,
  listRuns,
  openStore,
} from "../../src/store/index.ts";
import { BIN, cleanupTemp, ensureBuilt, isolatedEnv, run, tempDir, waitFor } from "../helpers/harness.ts";

afterAll(cleanupTemp);
await ensureBuilt();

const T0 = Date.UTC(2026, 0, 1);
const DAY = 86_400_000;

/** `n` finished runs, one a minute from T0 (run i is `r<i>`, pipeline a/b), each 5 processes with samples. */
function fill(db: Database, n: number, opts: { startAt?: number; step?: number } = {}): string[] {
  const ids: string[] = [];
  db.transaction(() => {
    for (let i = 0; i < n; i++) {
      const id = Bun.randomUUIDv7();
      const at = (opts.startAt ?? T0) + i * (opts.step ?? 60_000);
      ids.push(id);
      createRun(db, {
        id,
        name: `r${i}`,
        pipeline: i % 2 ? "a" : "b",
        command: ["bash", "pipe.sh", String(i)],
        cwd: "/data",
        host: "h",
        mode: "proc-poll",
        recorderPid: 1,
        startedAt: at,
      });
      const w = new StoreWriter(db, id);
      let parent: ProcessRecord | undefined;
      for (let k = 0; k < 5; k++) {
        const p: ProcessRecord = {
          pid: 1000 + k,
          startTicks: k,
          parent,
          comm: `t${k}`,
          argv: [`tool${k}`, "--input", "x".repeat(300)],
          startedAt: at + k,
          endedAt: at + 100 + k,
          durationUs: 100_000,
          exitCode: k === 4 && i % 7 === 0 ? 1 : 0,
          userUs: 5000,
          systemUs: 1000,
          peakRssKb: 2048 * (k + 1),
        };
        w.process(p);
        w.sample(p, { at: at + 50, cpuPct: 40, rssKb: 1000 });
        parent = p;
      }
      w.system({
        at,
        cpuPct: 10,
        memTotalKb: 1e6,
        memUsedKb: 5e5,
        swapTotalKb: 0,
        swapUsedKb: 0,
        load1: 1,
        load5: 1,
        load15: 1,
        diskTotalBytes: 1e9,
        diskUsedBytes: 1e8,
      });
      w.flush();
      finishRun(db, id, {
        endedAt: at + 200,
        exitCode: i % 7 === 0 ? 1 : 0,
        eventsLost: 0,
        mode: "proc-poll",
      });
    }
  })();
  return ids;
}

const storeOf = (env: Record<string, string>) => join(env.TRACER_STATE_DIR!, "tracer.db");
const bytesOf = (path: string) =>
  [path, `${path}-wal`].reduce((n, f) => {
    try {
      return n + statSync(f).size;
    } catch {
      return n;
    }
  }, 0);
const count = (path: string, table: string) => {
  const db = new Database(path, { readonly: true });
  try {
    return (db.query(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
  } finally {
    db.close();
  }
};

describe("runs prune", () => {
  test("--keep 5 on 2,000 runs: 5 left, the file shrinks, kept runs report the same; --dry-run changes nothing", async () => {
    const env = isolatedEnv();
    const db = openStore(storeOf(env));
    // a run being recorded (its recorder, this test process, is alive), older than all the others
    createRun(db, {
      id: Bun.randomUUIDv7(),
      name: "live",
      pipeline: "b",
      command: ["sleep", "1000"],
      cwd: "/",
      host: "h",
      mode: "proc-poll",
      recorderPid: process.pid,
      startedAt: T0 - DAY,
    });
    const ids = fill(db, 2000);
    db.close();
    const path = storeOf(env);
    const kept = ids.slice(-5);
    const reportOf = async (id: string) => {
      const r = await run(["report", id], { env });
      expect(r.code).toBe(0);
      return r.stdout;
    };
    const before = await Promise.all(kept.map(reportOf));
    const jsonBefore = (await run(["report", kept[0]!, "--json"], { env })).stdout;
    const size0 = bytesOf(path);

    const dry = await run(["runs", "prune", "--keep", "5", "--dry-run", "--json"], { env });
    expect(dry.code).toBe(0);
    const d = JSON.parse(dry.stdout);
    expect(d.dryRun).toBe(true);
    expect(d.removed).toHaveLength(1995);
    expect(d.skippedActive.map((r: { name: string }) => r.name)).toEqual(["live"]);
    expect(count(path, "runs")).toBe(2001);
    expect(count(path, "processes")).toBe(10_000);
    expect(bytesOf(path)).toBe(size0);

    const real = await run(["runs", "prune", "--keep", "5"], { env });
    expect(real.stderr).toBe("");
    expect(real.code).toBe(0);
    expect(real.stdout).toMatch(/^removed 1995 runs \(9975 processes\), 6 runs left; store .* reclaimed\)$/m);
    expect(real.stdout).toContain("left alone: live");
    const after = openStore(path, { readonly: true });
    const left = listRuns(after, -1);
    after.close();
    expect(left.map((r) => r.name).sort()).toEqual(["live", "r1995", "r1996", "r1997", "r1998", "r1999"]);
    expect(count(path, "processes")).toBe(25);
    expect(count(path, "samples")).toBe(25);
    expect(count(path, "system_metrics")).toBe(5);
    const size1 = bytesOf(path);
    expect(size1).toBeLessThan(size0 / 10);
    expect(await Promise.all(kept.map(reportOf))).toEqual(before);
    expect((await run(["report", kept[0]!, "--json"], { env })).stdout).toBe(jsonBefore);
  });

  test("--older-than and --pipeline choose; bad values are usage errors", async () => {
    const env = isolatedEnv();
    const db = openStore(storeOf(env));
    const now = Date.now();
    fill(db, 10, { startAt: now - 10 * DAY, step: DAY }); // r0 is 10 days old … r9 1 day old
    db.close();
    const r = await run(["runs", "prune", "--older-than", "5d12h", "--pipeline", "a", "--json"], { env });
    expect(r.code).toBe(0);
    // pipeline a = odd runs; older than 5.5 days = r0..r4
    expect(JSON.parse(r.stdout).removed.map((x: { name: string }) => x.name)).toEqual(["r3", "r1"]);
    const keep = await run(["runs", "prune", "--keep", "2", "--older-than", "3d12h", "--json"], { env });
    expect(JSON.parse(keep.stdout).removed.map((x: { name: string }) => x.name)).toEqual([
      "r6",
      "r5",
      "r4",
      "r2",
      "r0",
    ]);
    for (const bad of [
      ["--keep", "-1"],
      ["--keep", "x"],
      ["--older-than", "5"],
      ["--older-than", "0d"],
      [],
    ]) {
      const b = await run(["runs", "prune", ...bad], { env });
      expect(b.code).toBe(2);
      expect(b.stderr).toMatch(/--keep|--older-than/);
    }
  });

  test("a store from an older tracer (no auto_vacuum) is converted once and shrinks", async () => {
    const env = isolatedEnv();
    const path = storeOf(env);
    openStore(path).close(); // creates the dir
    const { rmSync } = await import("node:fs");
    for (const f of [path, `${path}-wal`, `${path}-shm`]) rmSync(f, { force: true });
    const raw = new Database(path, { create: true });
    raw.exec("PRAGMA journal_mode = WAL");
    for (const [i, m] of MIGRATIONS.entries()) raw.exec(`${m}; PRAGMA user_version = ${i + 1}`);
    expect(raw.query("PRAGMA auto_vacuum").get()).toEqual({ auto_vacuum: 0 });
    fill(raw, 300);
    raw.exec("PRAGMA wal_checkpoint(TRUNCATE)");
    raw.close();
    const size0 = bytesOf(path);
    const r = await run(["runs", "prune", "--keep", "1", "--json"], { env });
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j).toMatchObject({ converted: true, left: 1 });
    expect(j.reclaimedBytes).toBeGreaterThan(0);
    expect(bytesOf(path)).toBeLessThan(size0 / 5);
    const db = new Database(path, { readonly: true });
    expect(db.query("PRAGMA auto_vacuum").get()).toEqual({ auto_vacuum: 2 });
    db.close();
  });
});

test("prune --keep 0 while `tracer run` records: the live run is left alone and finishes normally", async () => {
  const env = isolatedEnv();
  const db = openStore(storeOf(env));
  fill(db, 3);
  db.close();
  const dir = tempDir();
  const fifo = join(dir, "go");
  expect(Bun.spawnSync(["mkfifo", fifo]).exitCode).toBe(0);
  // the recorded command waits until the test writes to the FIFO
  const live = Bun.spawn([BIN, "run", "--name", "live", "--", "sh", "-c", `read x < ${fifo}; exit 4`], {
    env,
    stdio: ["ignore", "ignore", "pipe"],
  });
  await waitFor(
    async () => (await run(["runs", "--json"], { env })).stdout.includes('"live"'),
    10_000,
    "the run",
  );
  const r = await run(["runs", "prune", "--keep", "0", "--json"], { env });
  expect(r.code).toBe(0);
  const j = JSON.parse(r.stdout);
  expect(j.removed).toHaveLength(3);
  expect(j.skippedActive).toMatchObject([{ name: "live", status: "running" }]);
  expect(j.left).toBe(1);
  writeFileSync(fifo, "go\n");
  expect(await live.exited).toBe(4);
  const rep = JSON.parse((await run(["report", "live", "--json"], { env })).stdout);
  expect(rep.run).toMatchObject({ status: "failed", exitCode: 4 });
  expect(rep.processes.length).toBeGreaterThanOrEqual(1);
});

describe("runs rm", () => {
  test("removes the runs named; refuses a run being recorded; lists the candidates of an ambiguous name", async () => {
    const env = isolatedEnv();
    const db = openStore(storeOf(env));
    const ids = fill(db, 4);
    fill(db, 2, { startAt: T0 + DAY }); // a second r0 and r1
    createRun(db, {
      id: Bun.randomUUIDv7(),
      name: "live",
      pipeline: "p",
      command: ["sleep"],
      cwd: "/",
      host: "h",
      mode: "proc-poll",
      recorderPid: process.pid,
      startedAt: T0,
    });
    db.close();
    const path = storeOf(env);

    const amb = await run(["runs", "rm", "r0"], { env });
    expect(amb.code).toBe(2);
    expect(amb.stderr).toContain('"r0" names 2 runs:');
    expect(amb.stderr).toContain(ids[0]!);
    expect(count(path, "runs")).toBe(7);

    const live = await run(["runs", "rm", "r2", "live"], { env });
    expect(live.code).toBe(1);
    expect(live.stderr).toContain("is being recorded");
    expect(count(path, "runs")).toBe(7); // all or nothing: r2 is still there

    const dry = await run(["runs", "rm", "r2", "--dry-run"], { env });
    expect(dry.code).toBe(0);
    expect(dry.stdout).toStartWith("would remove 1 run (5 processes)");
    expect(count(path, "runs")).toBe(7);

    const ok = await run(["runs", "rm", ids[0]!, "r2", ids[3]!.slice(0, 30)], { env });
    expect(ok.stderr).toBe("");
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/^removed 3 runs \(15 processes\), 4 runs left/);
    expect(count(path, "runs")).toBe(4);
    expect(count(path, "processes")).toBe(15);

    // a run whose recorder died (interrupted) is not active: it can be removed
    const db2 = openStore(path);
    createRun(db2, {
      id: "dead-run",
      name: "dead",
      pipeline: "p",
      command: ["x"],
      cwd: "/",
      host: "h",
      mode: "proc-poll",
      recorderPid: 2147483646,
      startedAt: T0,
    });
    db2.close();
    const dead = await run(["runs", "rm", "dead", "--json"], { env });
    expect(dead.code).toBe(0);
    expect(JSON.parse(dead.stdout).removed).toMatchObject([{ id: "dead-run", status: "interrupted" }]);

    const gone = await run(["runs", "rm", ids[0]!], { env });
    expect(gone.code).toBe(1);
    expect(gone.stderr).toContain(`no run "${ids[0]}"`);
    expect((await run(["runs", "rm"], { env })).code).toBe(2);
  });

  test("a removed run's queued OTLP items stay in the outbox (sent later), and are reported", async () => {
    const env = isolatedEnv();
    const db = openStore(storeOf(env));
    const [a, b] = fill(db, 2);
    db.close();
    const outboxPath = join(env.TRACER_STATE_DIR!, "otlp-outbox.db");
    const box = new Outbox(outboxPath);
    const resource = (id: string, name: string) =>
      runResource({
        id,
        name,
        pipeline: "p",
        command: [],
        cwd: "/",
        host: "h",
        mode: "m",
        startedAt: T0,
        status: "done",
        eventsLost: 0,
      });
    box.enqueue("traces", resource(a!, "r0"), [
      { body: { s: 1 }, units: 1 },
      { body: { s: 2 }, units: 1 },
    ]);
    box.enqueue("traces", resource(b!, "r1"), [{ body: { s: 3 }, units: 1 }]);
    box.close();
    expect(queuedForRuns(outboxPath, [a!, b!])).toEqual(
      new Map([
        [a!, 2],
        [b!, 1],
      ]),
    );
    const r = await run(["runs", "rm", a!, "--json"], { env });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).removed).toMatchObject([{ id: a, queued: 2 }]);
    expect(count(outboxPath, "items")).toBe(3);
    const human = await run(["runs", "rm", b!], { env });
    expect(human.stdout).toContain("1 spans/points of removed runs are still queued for OTLP export");
  });
});

test("automatic run names differ for runs started in the same second", async () => {
  const at = new Date(T0);
  const names = new Set(Array.from({ length: 20 }, () => autoRunName(Bun.randomUUIDv7(), at)));
  expect(names.size).toBe(20);
  expect([...names][0]).toMatch(/^run-20260101T000000-[0-9a-f]{6}$/);
  // the case: two `tracer run` started together
  const env = isolatedEnv();
  const both = await Promise.all([1, 2].map(() => run(["run", "--quiet", "--", "true"], { env })));
  for (const r of both) expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
  const listed = JSON.parse((await run(["runs", "--json"], { env })).stdout) as { name: string }[];
  expect(listed).toHaveLength(2);
  expect(listed[0]!.name).not.toBe(listed[1]!.name);
  for (const r of listed) expect(r.name).toMatch(/^run-\d{8}T\d{6}-[0-9a-f]{6}$/);
});
