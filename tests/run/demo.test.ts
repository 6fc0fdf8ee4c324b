/** The README's main job: scripts/demo.sh traces the bundled demo pipeline and prints its report. */
import { afterAll, expect, test } from "bun:test";
import { join } from "node:path";
import { BIN, ROOT, cleanupTemp, isolatedEnv } from "../helpers/harness.ts";
import { PY, start } from "./_helpers.ts";

afterAll(cleanupTemp);

test("scripts/demo.sh: five steps recorded in tree order with exit codes and figures", async () => {
  const env = isolatedEnv({ TRACER: BIN, PYTHON: PY });
  const r = await start([join(ROOT, "scripts", "demo.sh")], env).done;
  expect(r.code).toBe(0);
  expect(r.stdout).toContain("top_gene=GENE");
  expect(r.stdout).toMatch(/status +done, exit 0/);
  const lines = r.stdout.split("\n");
  const at = (s: string) => lines.findIndex((l) => l.includes(s));
  // the pipeline's shell, then its steps indented below it, in order
  const sh = at("demo/pipeline.sh");
  const steps = ["import random", "sort -k2,2", "uniq -c", "import statistics", "gzip -6"].map(at);
  expect(sh).toBeGreaterThan(0);
  for (const i of steps) expect(i).toBeGreaterThan(sh);
  expect([...steps].sort((a, b) => a - b)).toEqual(steps);
  expect(lines[steps[4]!]).toMatch(/ {2}gzip -6 -c sorted\.tsv$/);
});
