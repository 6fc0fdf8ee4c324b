/**
 * `tracer top RUN` into a pipe against `tracer report` and `tracer runs` on real recorded runs: each
 * run is shown by the id `tracer runs` shows, one `tracer report` accepts.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { cleanupTemp, ensureBuilt, isolatedEnv, run } from "../helpers/harness.ts";

beforeAll(ensureBuilt);
afterAll(cleanupTemp);

test("runs started together show distinct ids in top, the ids tracer runs shows and report accepts", async () => {
  const env = isolatedEnv();
  for (const name of ["first", "second"])
    expect((await run(["run", "--name", name, "--", "true"], { env })).code).toBe(0);
  const listed = (await run(["runs"], { env })).stdout;
  const ids: string[] = [];
  for (const name of ["first", "second"]) {
    const out = (await run(["top", name], { env })).stdout;
    const id = new RegExp(`^run ${name} \\(([^)]+)\\)`, "m").exec(out)?.[1];
    if (!id) throw new Error(`no run line for ${name}; top printed:\n${out}`);
    ids.push(id);
    // the ID column of `tracer runs`
    expect(listed).toMatch(new RegExp(`^${id}\\s+${name}\\s`, "m"));
    const report = await run(["report", id], { env });
    expect(report.code).toBe(0);
    expect(report.stdout).toMatch(new RegExp(`^run\\s+${name} \\(${id}`, "m"));
  }
  expect(ids[0]).not.toBe(ids[1]);
}, 60_000);
