/**
 * `tracer diff` between runs that share no step (a newcomer's report): `diff sh1 smk1
 * --fail-on-regression 10` on two unrelated pipelines printed "no matched step changed" and exited 0,
 * so a CI gate passed without comparing anything. Now the text says how many steps matched (and that
 * the pipelines differ), `--json` carries `matched`, and the gate exits 8 when nothing matched.
 * Real processes under `tracer run`.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import Ajv from "ajv";
import { writeGrowPipeline } from "./_grow.ts";
import { ROOT, cleanupTemp, isolatedEnv, run, tempDir } from "../helpers/harness.ts";

let env: Record<string, string>;

beforeAll(async () => {
  const dir = tempDir();
  writeGrowPipeline(dir);
  // a second, unrelated pipeline: no step of it has a key the grow pipeline has
  writeFileSync(join(dir, "tally.sh"), "#!/bin/sh\nprintf 'a\\nb\\n' | wc -l >/dev/null\nexit 0\n", {
    mode: 0o755,
  });
  env = isolatedEnv();
  const runs = [
    ["grow1", "grow", "./pipeline.sh", "10", "0"],
    ["tally1", "tally", "./tally.sh"],
    ["tally2", "grow", "./tally.sh"], // the grow pipeline's name, the tally pipeline's steps
  ];
  for (const [name, pipeline, ...cmd] of runs) {
    const r = await run(["run", "--quiet", "--name", name!, "--pipeline", pipeline!, "--", ...cmd], {
      env,
      cwd: dir,
    });
    expect(r.code).toBe(0);
  }
});
afterAll(cleanupTemp);

test("no step matched, --fail-on-regression: exit 8, the reason and a hint on stderr (was exit 0)", async () => {
  const r = await run(["diff", "grow1", "tally1", "--fail-on-regression", "10"], { env });
  expect(r.code).toBe(8);
  expect(r.stderr).toMatch(
    /^tracer: no step matched: run A grow1 \(pipeline grow, 3 steps\) and run B tally1 \(pipeline tally, 1 step\) share no step key, so no regression could be checked$/m,
  );
  expect(r.stderr).toContain("hint: the runs are of different pipelines");
  expect(r.stderr).not.toContain("regression: script:"); // not reported as a regression
  // the comparison is still printed, saying what matched
  expect(r.stdout).toMatch(/^0 steps matched of \d+ in A and \d+ in B$/m);
  expect(r.stdout).toContain("no step matched: nothing was compared");
  expect(r.stdout).not.toContain("no matched step changed");
  // the same under --json: the diff on stdout, exit 8
  const j = await run(["diff", "grow1", "tally1", "--fail-on-regression", "10", "--json"], { env });
  expect(j.code).toBe(8);
  expect(JSON.parse(j.stdout)).toMatchObject({ steps: [], matched: 0 });
  // any limit: nothing was compared whatever it is
  const lax = await run(["diff", "grow1", "tally1", "--fail-on-regression", "1000000"], { env });
  expect(lax.code).toBe(8);
});

test("no step matched, no gate: reported, exit 0; the text names the pipelines and the counts", async () => {
  const r = await run(["diff", "grow1", "tally1"], { env });
  expect(r.code).toBe(0);
  expect(r.stderr).toBe("");
  const j = JSON.parse((await run(["diff", "grow1", "tally1", "--json"], { env })).stdout);
  expect(j.matched).toBe(0);
  expect(j.steps).toEqual([]);
  const keysA = j.only_in_a.map((s: { key: string }) => s.key);
  const keysB = j.only_in_b.map((s: { key: string }) => s.key);
  expect(keysA).toContain("script:grow");
  expect(keysB).toEqual(["script:tally.sh"]);
  expect(keysA.filter((k: string) => keysB.includes(k))).toEqual([]);
  const lines = r.stdout.split("\n");
  expect(lines[2]).toBe("note: different pipelines (grow, tally): few or no steps may match");
  expect(lines[3]).toBe(`0 steps matched of ${keysA.length} in A and ${keysB.length} in B`);
});

test("same pipeline name, disjoint steps: no pipeline note, still exit 8 under the gate", async () => {
  const r = await run(["diff", "grow1", "tally2", "--fail-on-regression", "10"], { env });
  expect(r.code).toBe(8);
  expect(r.stdout).not.toContain("different pipelines");
  expect(r.stdout).toMatch(/^0 steps matched of \d+ in A and \d+ in B$/m);
  expect(r.stderr).toContain("hint: steps are matched by key");
});

test("runs that match: `matched` counts every shared step, hidden ones too; the gate checks as before", async () => {
  const schema = JSON.parse(readFileSync(join(ROOT, "docs", "diff-schema.json"), "utf8"));
  const validate = new Ajv({ allErrors: true, strict: true }).compile(schema);
  const same = JSON.parse((await run(["diff", "tally1", "tally2", "--json"], { env })).stdout);
  expect(validate(same)).toBe(true);
  expect(same.matched).toBeGreaterThan(0);
  expect(same.matched).toBe(same.steps.length);
  expect(same.only_in_a).toEqual([]);
  // a threshold no change reaches hides every step, but they matched
  const hid = JSON.parse(
    (await run(["diff", "tally1", "tally2", "--json", "--threshold", "1000000"], { env })).stdout,
  );
  expect(hid.matched).toBe(same.matched);
  expect(hid.hidden).toBe(same.matched);
  const text = await run(["diff", "tally1", "tally2", "--threshold", "1000000"], { env });
  expect(text.stdout).toContain("no matched step changed");
  expect(text.stdout).toMatch(new RegExp(`^${same.matched} steps? matched of ${same.matched} in A`, "m"));
  // a gate over matched steps: exit 0 when nothing grew past the limit (hidden steps are still checked)
  const gate = await run(["diff", "tally1", "tally2", "--fail-on-regression", "1000000"], { env });
  expect(gate.code).toBe(0);
  expect(gate.stderr).toBe("");
  // the disjoint diff validates too (matched 0)
  const none = JSON.parse((await run(["diff", "grow1", "tally1", "--json"], { env })).stdout);
  expect(validate(none)).toBe(true);
  expect(validate({ ...none, matched: -1 })).toBe(false);
  // added within tracer-diff/1: optional, so an older tracer's output still validates
  const { matched: _, ...old } = none;
  expect(validate(old)).toBe(true);
});
