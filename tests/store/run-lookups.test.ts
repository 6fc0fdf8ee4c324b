/**
 * Finding runs reads only what it is asked for (issue 15: cost proportional to the work, not to the
 * store): a pipeline's runs through runs_pipeline, a name through runs_name, an id prefix through the
 * primary key. An attack found the HTML report of a 20-process run going 20 → 150 ms, and `advise`
 * likewise, in a store of 50,000 runs: both read and decoded every run, counting each one's processes.
 * Asserted on results and on SQLite's query plans, not on time.
 */
import type { Database } from "bun:sqlite";
import { afterAll, expect, test } from "bun:test";
import { join } from "node:path";
import {
  createRun,
  findRun,
  finishRun,
  openStore,
  pipelineRuns,
  StoreWriter,
} from "../../src/store/index.ts";
import { cleanupTemp, tempDir } from "../helpers/harness.ts";

afterAll(cleanupTemp);

const T0 = Date.UTC(2026, 0, 1);

function store() {
  const db = openStore(join(tempDir(), "tracer.db"));
  let n = 0;
  const add = (pipeline: string, o: { ended?: boolean; processes?: number } = {}) => {
    const id = Bun.randomUUIDv7();
    const startedAt = T0 + n++ * 1000;
    createRun(db, {
      id,
      name: `${pipeline}-${n}`,
      pipeline,
      command: ["sh"],
      cwd: "/",
      host: "h",
      mode: "connector+taskstats",
      recorderPid: 1,
      startedAt,
    });
    const w = new StoreWriter(db, id);
    for (let i = 0; i < (o.processes ?? 1); i++)
      w.process({ pid: 100 + i, startTicks: 1, startedAt, endedAt: startedAt + 1 });
    w.flush();
    if (o.ended !== false)
      finishRun(db, id, {
        endedAt: startedAt + 500,
        exitCode: 0,
        eventsLost: 0,
        lossReasons: {},
        recovered: 0,
        argvLost: 0,
        mode: "connector+taskstats",
      } as never);
    return { id, startedAt };
  };
  return { db, add };
}

const plan = (db: Database, sql: string) =>
  (db.query(`EXPLAIN QUERY PLAN ${sql}`).all() as { detail: string }[]).map((r) => r.detail).join("; ");

test("a pipeline's earlier finished runs, newest first: only its own, before the one asked about", () => {
  const { db, add } = store();
  const mine = [
    add("p"),
    add("other"),
    add("p"),
    add("p", { ended: false }),
    add("p", { processes: 0 }),
    add("p"),
  ];
  const last = mine[5]!;
  const ids = (rows: { id: string }[]) => rows.map((r) => r.id);
  expect(ids(pipelineRuns(db, "p", 10, { before: last.startedAt, except: last.id }))).toEqual([
    mine[4]!.id,
    mine[2]!.id,
    mine[0]!.id,
  ]);
  // `recorded`: a run without a process row (a CMD that could not start) is left out
  expect(ids(pipelineRuns(db, "p", 10, { recorded: true }))).toEqual([mine[5]!.id, mine[2]!.id, mine[0]!.id]);
  expect(ids(pipelineRuns(db, "p", 2))).toEqual([mine[5]!.id, mine[4]!.id]);
  expect(pipelineRuns(db, "nope", 10)).toEqual([]);
  db.close();
});

test("the lookups use an index: SQLite's plans search runs, never scan them", () => {
  const { db, add } = store();
  for (let i = 0; i < 50; i++) add(i % 2 ? "a" : "b");
  const byPipeline = plan(
    db,
    "SELECT id FROM runs r WHERE r.pipeline = ?1 AND r.ended_at IS NOT NULL ORDER BY r.started_at DESC LIMIT 3",
  );
  expect(byPipeline).toMatch(/^SEARCH r USING (COVERING )?INDEX runs_pipeline /);
  expect(plan(db, "SELECT id FROM runs r WHERE r.name = ?")).toMatch(
    /^SEARCH r USING (COVERING )?INDEX runs_name /,
  );
  const prefix = plan(
    db,
    "SELECT id FROM runs r WHERE r.id >= ?1 AND r.id < ?1 || char(1114111) AND substr(r.id, 1, length(?1)) = ?1",
  );
  expect(prefix).toMatch(/^SEARCH r USING (COVERING )?INDEX sqlite_autoindex_runs_1 /);
  for (const p of [byPipeline, prefix]) expect(p).not.toMatch(/^SCAN r\b/);
  // and the lookups answer as before: by name, by id prefix
  const r = add("c");
  expect(findRun(db, r.id.slice(0, -4)).id).toBe(r.id);
  expect(findRun(db, findRun(db, r.id).name).id).toBe(r.id);
  db.close();
});
