/**
 * A store another writer holds (the daemon's flush, a `runs prune`) when CMD starts: CMD is not held
 * back while tracer waits for the lock, and the run is still recorded whole once the lock is free.
 */
import { Database } from "bun:sqlite";
import { afterAll, expect, test } from "bun:test";
import { join } from "node:path";
import { cleanupTemp, isolatedEnv, run } from "../helpers/harness.ts";
import { openDb } from "./_helpers.ts";

afterAll(cleanupTemp);

test("CMD starts at once while another writer holds the store; its run is recorded once the lock is free", async () => {
  const env = isolatedEnv();
  expect((await run(["run", "--quiet", "--", "true"], { env })).code).toBe(0);
  const other = new Database(join(env.TRACER_STATE_DIR!, "tracer.db"));
  other.exec("BEGIN IMMEDIATE"); // the write lock, as a long flush of another writer holds it
  const tracer = run(["run", "--quiet", "--name", "busy", "--", "/bin/sh", "-c", "sleep 0.2; exit 3"], {
    env,
  });
  await Bun.sleep(1500);
  const freedAt = Date.now();
  other.exec("COMMIT");
  other.close();
  const r = await tracer;
  expect(r.code).toBe(3);
  expect(r.stderr).toBe("");
  const db = openDb(env);
  const runRow = db.query("SELECT id, status, exit_code AS exitCode FROM runs WHERE name = 'busy'").get() as {
    id: string;
    status: string;
    exitCode: number;
  };
  expect(runRow).toMatchObject({ status: "failed", exitCode: 3 });
  const procs = db
    .query("SELECT argv, exit_code AS exitCode, started_at AS startedAt FROM processes WHERE run_id = ?")
    .all(runRow.id) as { argv: string; exitCode: number; startedAt: number }[];
  db.close();
  expect(procs.map((p) => [JSON.parse(p.argv), p.exitCode])).toContainEqual([
    ["/bin/sh", "-c", "sleep 0.2; exit 3"],
    3,
  ]);
  // CMD ran while the lock was held, not after it was freed
  for (const p of procs) expect(p.startedAt).toBeLessThan(freedAt - 1000);
});
