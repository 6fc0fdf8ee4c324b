/**
 * `tracer diff` end to end (issue 16): the same pipeline run twice, its step `grow` holding 100 MiB in
 * run A and 200 MiB in run B, and its step `check` failing only in B. Real processes under `tracer run`.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import Ajv from "ajv";
import { expectStepsCoverRun } from "../helpers/attribution.ts";
import { writeGrowPipeline } from "./_grow.ts";
import { ROOT, cleanupTemp, ensureBuilt, isolatedEnv, run, tempDir } from "../helpers/harness.ts";

let env: Record<string, string>;

beforeAll(async () => {
  await ensureBuilt();
  const dir = tempDir();
  writeGrowPipeline(dir);
  env = isolatedEnv();
  for (const [name, mib, exit] of [
    ["A", "100", "0"],
    ["B", "200", "1"],
  ] as const) {
    const r = await run(
      ["run", "--quiet", "--name", name, "--pipeline", "grow", "--", "./pipeline.sh", mib, exit],
      {
        env,
        cwd: dir,
      },
    );
    expect(r.code).toBe(0);
  }
});
afterAll(cleanupTemp);

test("diff A B: the new failure first, then grow's peak RSS +100 %", async () => {
  await expectStepsCoverRun(env, "A");
  await expectStepsCoverRun(env, "B");
  const r = await run(["diff", "A", "B"], { env });
  expect(r.code).toBe(0);
  const lines = r.stdout.split("\n");
  const rows = lines
    .slice(lines.findIndex((l) => l.startsWith("STATUS")))
    .filter((l) => /\s(grow|check)$/.test(l));
  expect(rows).toHaveLength(2);
  expect(rows[0]).toMatch(/^newly-failed\s+0 → 1\s.*check$/);
  expect(rows[1]).toMatch(/10\dMiB → 20\dMiB \(\+(9[5-9]|10[0-5])(\.\d)?%\).*grow$/);
  expect(rows[1]).toMatch(/^\s+0\s/); // grow passed in both
  // every step matched, and is said to; one pipeline, so no note about pipelines
  expect(lines[2]).toBe("3 steps matched of 3 in A and 3 in B");
  expect(r.stdout).not.toContain("different pipelines");

  const j = await run(["diff", "A", "B", "--json"], { env });
  const d = JSON.parse(j.stdout);
  expect(d.steps[0]).toMatchObject({ key: "script:check", status_change: "newly-failed" });
  const grow = d.steps.find((s: { key: string }) => s.key === "script:grow");
  // 100 → 200 MiB (a peak is a little above the target: the bytes object's header, a page or two)
  const rss = grow.changes.peak_rss_bytes;
  expect(rss.pct).toBeGreaterThanOrEqual(95);
  expect(rss.pct).toBeLessThanOrEqual(101);
  expect(rss.a / 2 ** 20).toBeGreaterThanOrEqual(99);
  expect(rss.a / 2 ** 20).toBeLessThan(105);
  expect(rss.abs / 2 ** 20).toBeGreaterThan(95);
  expect(d.only_in_a).toEqual([]);
  expect(d.only_in_b).toEqual([]);
  expect(d.matched).toBe(3);
});

test("--json validates against docs/diff-schema.json, and the schema catches drift", async () => {
  const schema = JSON.parse(readFileSync(join(ROOT, "docs", "diff-schema.json"), "utf8"));
  const validate = new Ajv({ allErrors: true, strict: true }).compile(schema);
  const d = JSON.parse((await run(["diff", "A", "B", "--json", "--threshold", "10"], { env })).stdout);
  expect(validate(d)).toBe(true);
  expect(validate.errors ?? []).toEqual([]);
  expect(validate({ ...d, extra: 1 })).toBe(false);
  expect(validate({ ...d, steps: [{ ...d.steps[0], status_change: "worse" }] })).toBe(false);
  // the threshold hides small changes but never a status change
  expect(d.steps[0].key).toBe("script:check");
  expect(
    d.steps.every(
      (s: {
        impact: number;
        status_change: string | null;
        changes: Record<string, { pct: number | null }>;
      }) => s.status_change !== null || Object.values(s.changes).some((c) => Math.abs(c.pct ?? 0) >= 10),
    ),
  ).toBe(true);
});

test("--fail-on-regression: exit 7 past the limit (the failure and grow's RSS named), 0 for the reverse", async () => {
  const r = await run(["diff", "A", "B", "--fail-on-regression", "50"], { env });
  expect(r.code).toBe(7);
  expect(r.stderr).toContain("script:check: newly-failed");
  expect(r.stderr).toMatch(/script:grow: peak_rss_bytes \+\d+(\.\d)?%/);
  // B → A: less memory and a fixed step are no regression (a wall or CPU jump of a tiny step could
  // be: the limit here is high enough that only RSS or a failure would trip it)
  const back = await run(["diff", "B", "A", "--fail-on-regression", "1000"], { env });
  expect(back.stdout).toMatch(/^fixed\s/m);
  expect(back.code).toBe(0);
  const bad = await run(["diff", "A", "B", "--fail-on-regression", "lots"], { env });
  expect(bad.code).toBe(2);
});

test("the HTML report of run B shows each step against the pipeline's history (run A)", async () => {
  const r = await run(["report", "B", "--format", "html"], { env });
  expect(r.code).toBe(0);
  const at = r.stdout.indexOf("<h2>Against the pipeline's history</h2>");
  expect(at).toBeGreaterThan(0);
  const section = r.stdout.slice(at, r.stdout.indexOf("</table>", at));
  expect(section).toContain("1 earlier run of pipeline grow");
  // grow's peak RSS doubled: this run's tick is above A's range, with both figures in words
  const grow = section.split("<tr>").find((row) => row.includes("<td>grow</td>"))!;
  expect(grow).toMatch(/10\dMiB–10\dMiB · now 20\dMiB/);
  expect(grow).toContain('class="above"');
  // run A has no earlier run: no section
  const a = await run(["report", "A", "--format", "html"], { env });
  expect(a.stdout).not.toContain("Against the pipeline's history");
});
