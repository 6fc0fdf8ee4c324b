/**
 * `tracer runs` lists the newest 50 runs by default: on a real store of 55 runs (one recorded by the
 * binary, 54 older ones written through the store API) the table says how many older runs it left out
 * and how to list them; `--json` stays an array of the newest `--limit` runs.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { join } from "node:path";
import { createRun, openStore } from "../../src/store/index.ts";
import { cleanupTemp, ensureBuilt, isolatedEnv, run } from "../helpers/harness.ts";

beforeAll(ensureBuilt);
afterAll(cleanupTemp);

const OLDER = 54;

test("runs past the limit: the table counts the older runs left out and names --limit; --json stays an array", async () => {
  const env = isolatedEnv();
  expect((await run(["run", "--name", "newest", "--", "true"], { env })).code).toBe(0);
  const db = openStore(join(env.TRACER_STATE_DIR!, "tracer.db"));
  const t0 = Date.now() - 86_400_000;
  db.transaction(() => {
    for (let i = 0; i < OLDER; i++)
      createRun(
        db,
        {
          id: Bun.randomUUIDv7(),
          name: `old-${i}`,
          pipeline: "p",
          command: ["true"],
          cwd: "/",
          host: "h",
          mode: "proc-poll",
          recorderPid: 1,
          startedAt: t0 + i * 60_000,
        },
        { endedAt: t0 + i * 60_000 + 1000, exitCode: 0, eventsLost: 0, mode: "proc-poll" },
      );
  })();
  db.close();
  const rows = (out: string) => out.split("\n").filter((l) => /\s(newest|old-\d+)\s/.test(l)).length;

  const all = OLDER + 1;
  const byDefault = await run(["runs"], { env });
  expect(byDefault.code).toBe(0);
  expect(rows(byDefault.stdout)).toBe(50);
  expect(byDefault.stderr.trimEnd()).toBe(
    `… ${all - 50} older runs not shown (tracer runs --limit ${all} lists every run)`,
  );

  const ten = await run(["runs", "--limit", "10"], { env });
  expect(rows(ten.stdout)).toBe(10);
  expect(ten.stderr).toContain(
    `… ${all - 10} older runs not shown (tracer runs --limit ${all} lists every run)`,
  );

  // the line's advice works: every run, and no line
  const every = await run(["runs", "--limit", String(all)], { env });
  expect(rows(every.stdout)).toBe(all);
  expect(every.stderr).not.toContain("not shown");

  const json = await run(["runs", "--json"], { env });
  expect(json.code).toBe(0);
  const list = JSON.parse(json.stdout) as { name: string }[];
  expect(Array.isArray(list)).toBe(true);
  expect(list.length).toBe(50);
  expect(list[0]!.name).toBe("newest");
});
