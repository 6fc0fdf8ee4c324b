/**
 * tracer.db's -wal and -shm stay between runs, the WAL emptied by the checkpoint at close (src/store/db.ts:
 * SQLITE_FCNTL_PERSIST_WAL with journal_size_limit 0, issue 15). What must not change with that: when
 * tracer exits, the run is in the database file itself (checkpointed and synced, nothing left only in the
 * WAL), and the next run and readers find the kept files and every run.
 */
import { Database } from "bun:sqlite";
import { afterAll, beforeAll, expect, test } from "bun:test";
import { copyFileSync, existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { cleanupTemp, ensureBuilt, isolatedEnv, run, tempDir } from "../helpers/harness.ts";

beforeAll(ensureBuilt);
afterAll(cleanupTemp);

test("after tracer run the WAL is kept empty and tracer.db alone holds the run; the next run and readers see both runs", async () => {
  const env = isolatedEnv();
  const db = join(env.TRACER_STATE_DIR!, "tracer.db");
  const first = await run(["run", "--quiet", "--name", "first", "--", "sh", "-c", "exit 3"], { env });
  expect(first.code).toBe(3);
  // the close checkpointed everything into tracer.db and emptied the WAL instead of deleting it
  expect(statSync(`${db}-wal`).size).toBe(0);
  expect(existsSync(`${db}-shm`)).toBe(true);
  // the database file without its WAL: the run, its end and its process are all there
  const alone = join(tempDir(), "alone.db");
  copyFileSync(db, alone);
  const copy = new Database(alone, { readonly: true });
  const row = copy.query("SELECT id, name, exit_code FROM runs").get() as {
    id: string;
    name: string;
    exit_code: number;
  };
  expect(row.name).toBe("first");
  expect(row.exit_code).toBe(3);
  const procs = copy.query("SELECT count(*) AS n FROM processes WHERE run_id = ?").get(row.id) as {
    n: number;
  };
  expect(procs.n).toBeGreaterThanOrEqual(1);
  copy.close();

  // a second run opens the kept files; a reader lists both
  const second = await run(["run", "--quiet", "--name", "second", "--", "true"], { env });
  expect(second.code).toBe(0);
  expect(statSync(`${db}-wal`).size).toBe(0);
  const runs = await run(["runs", "--json"], { env });
  expect(runs.code).toBe(0);
  const names = (JSON.parse(runs.stdout) as { name: string }[]).map((r) => r.name).sort();
  expect(names).toEqual(["first", "second"]);
});
