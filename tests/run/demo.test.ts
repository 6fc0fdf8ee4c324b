/** The README's main job: scripts/demo.sh traces the bundled demo pipeline and prints its report. */
import { afterAll, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { expectStepsCoverRun } from "../helpers/attribution.ts";
import { BIN, ROOT, cleanupTemp, isolatedEnv, tempDir } from "../helpers/harness.ts";
import { PY, start } from "./_helpers.ts";

afterAll(cleanupTemp);

test("scripts/demo.sh: five steps recorded in tree order with exit codes and figures", async () => {
  const out = tempDir();
  const env = isolatedEnv({ TRACER: BIN, PYTHON: PY, DEMO_OUT: out });
  const r = await start([join(ROOT, "scripts", "demo.sh")], env).done;
  expect(r.code).toBe(0);
  expect(r.stdout).toContain("top_gene=GENE");
  expect(r.stdout).toMatch(/status +done, exit 0/);
  const lines = r.stdout.split("\n");
  const sh = lines.findIndex((l) => l.includes("demo/pipeline.sh") && !l.startsWith("command"));
  expect(sh).toBeGreaterThan(0);
  // the steps, indented below the pipeline's shell, in order (a step's argv may be missing when it
  // ended before tracer read it: the table then shows its [comm], which these patterns also match)
  const steps = [/simulate\.py|\[python/, /sort -k2,2|\[sort\]/, /uniq/, /summarise\.py|\[python/, /gzip/];
  let k = 0;
  for (const line of lines.slice(sh + 1))
    if (k < steps.length && /^\s*\d+\s.*\s{4}\S/.test(line) && steps[k]!.test(line)) k++;
  expect(k).toBe(steps.length);
  // (a step's row carries its label: [gzip] gzip -6 …)
  expect(r.stdout).toMatch(/ {4}(\[gzip\] )?gzip -6 -c sorted\.tsv$|\[gzip\]$/m);
  // it ends with the path of the run's HTML report
  const html = /^HTML report: (.+\.html)$/.exec(r.stdout.trimEnd().split("\n").at(-1)!)?.[1];
  expect(html?.startsWith(out)).toBe(true);
  expect(readFileSync(html!, "utf8")).toContain("<svg");
  // every process is in one step: the `cut | uniq` work too (issue 16)
  const name = /^run +(demo-\S+)/m.exec(r.stdout)![1]!;
  const stepsOf = await expectStepsCoverRun(env, name);
  const keys = stepsOf.map((s) => s.key);
  expect(keys).toContain("other:cut");
  expect(keys).toContain("other:uniq");
  expect(stepsOf.find((s) => s.key === "other:cut")!.processes).toBe(1);
});
