/** kill -9 of the recorder (`tracer run` itself) mid-run: the database opens cleanly with what it had recorded. */
import { Database } from "bun:sqlite";
import { afterAll, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { BIN, cleanupTemp, isolatedEnv, run, tempDir, waitFor } from "../helpers/harness.ts";

afterAll(cleanupTemp);

test("kill -9 of tracer run mid-run: integrity ok, earlier processes present, run shown as interrupted", async () => {
  const env = isolatedEnv();
  const dir = tempDir();
  const db = join(env.TRACER_STATE_DIR!, "tracer.db");
  // three short steps, then the step that will still be running when the recorder dies
  const script = `for i in 1 2 3; do sleep 0.15; done; echo $$ > ${dir}/pid; exec sleep 30`;
  const p = Bun.spawn([BIN, "run", "--name", "crash", "--", "sh", "-c", script], {
    env,
    stdio: ["ignore", "ignore", "ignore"],
  });
  let orphan = 0;
  try {
    await waitFor(() => existsSync(`${dir}/pid`), 20_000, "the last step");
    orphan = Number(readFileSync(`${dir}/pid`, "utf8"));
    const count = (table: string) => {
      const d = new Database(db, { readonly: true });
      try {
        return (d.query(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
      } finally {
        d.close();
      }
    };
    // the three sleeps, the shell, and (after the exec) the long sleep: flushed within a second;
    // the 1 s sampler has written live samples and system metrics too
    await waitFor(() => count("processes") >= 4, 5000, "the processes to be committed");
    await waitFor(() => count("samples") >= 1 && count("system_metrics") >= 1, 5000, "samples");
    p.kill("SIGKILL");
    await p.exited;
  } finally {
    if (orphan) process.kill(orphan, "SIGKILL");
  }
  const d = new Database(db);
  expect(d.query("PRAGMA integrity_check").get()).toEqual({ integrity_check: "ok" });
  const argv = d
    .query("SELECT argv FROM processes")
    .all()
    .map((r) => (r as { argv: string }).argv);
  expect(argv.filter((a) => a === JSON.stringify(["sleep", "0.15"])).length).toBe(3);
  d.close();
  const runs = await run(["runs", "--json"], { env });
  expect(runs.code).toBe(0);
  const [r] = JSON.parse(runs.stdout) as { name: string; status: string }[];
  expect(r).toMatchObject({ name: "crash", status: "interrupted" });
});
