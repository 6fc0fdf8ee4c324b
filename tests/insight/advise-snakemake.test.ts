/**
 * `tracer advise --format snakemake` end to end (issue 16): five runs of the real Snakemake workflow
 * (Debian snakemake, bwa, samtools; tests/report/_snakemake.ts) under `tracer run`, then a real
 * `snakemake --profile DIR` run with the profile tracer wrote. Rule names come from Snakemake's
 * `.snakemake/metadata` (src/insight/_snakemake.ts), checked here against hostile metadata too.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { jobShellCommand, snakemakeRules } from "../../src/insight/_snakemake.ts";
import { cleanupTemp, ensureBuilt, isolatedEnv, run, tempDir } from "../helpers/harness.ts";
import { SNAKEFILE, writeData } from "../report/_snakemake.ts";

const RULES = ["bwa_index", "bwa_map", "samtools_index", "samtools_sort"];
let dir: string;
let env: Record<string, string>;

beforeAll(async () => {
  await ensureBuilt();
  dir = tempDir();
  writeData(dir, ["s1", "s2"], { genomeBp: 200_000, reads: 5_000, readLen: 100 });
  writeFileSync(join(dir, "Snakefile"), SNAKEFILE);
  env = isolatedEnv();
  for (let i = 0; i < 5; i++) {
    const r = await run(
      ["run", "--quiet", "--pipeline", "smk", "--", "snakemake", "-j", "1", "--forceall", "--quiet"],
      { env, cwd: dir },
    );
    expect(r.code).toBe(0);
  }
}, 300_000);
afterAll(cleanupTemp);

test("the profile names every rule, memory ≥ its observed max, and snakemake --profile runs with it", async () => {
  const j = JSON.parse((await run(["advise", "--format", "json"], { env })).stdout);
  expect(j.weak).toBeNull();
  const byRule = new Map<string, { peak_rss_bytes: { max: number }; runs_seen: number }>(
    j.steps
      .filter((s: { snakemake_rule: string | null }) => s.snakemake_rule)
      .map((s: { name: string }) => [s.name, s]),
  );
  expect([...byRule.keys()].sort()).toEqual(RULES);
  for (const s of byRule.values()) expect(s.runs_seen).toBe(5);

  const r = await run(["advise", "--format", "snakemake"], { env });
  expect(r.code).toBe(0);
  const mem = new Map(
    [...r.stdout.matchAll(/^ {2}- "(\w+):mem_mb=(\d+)"$/gm)].map((m) => [m[1]!, Number(m[2])]),
  );
  expect([...mem.keys()].sort()).toEqual(RULES);
  for (const [rule, mb] of mem)
    expect(mb * 1024 * 1024).toBeGreaterThanOrEqual(byRule.get(rule)!.peak_rss_bytes.max);
  expect(r.stdout).toMatch(/^set-threads:\n( {2}- "\w+=\d+"\n){4}$/m);

  const prof = join(dir, "profile");
  mkdirSync(prof);
  writeFileSync(join(prof, "config.yaml"), r.stdout);
  const p = Bun.spawn(["snakemake", "--profile", prof, "-j", "1", "--forceall"], {
    cwd: dir,
    stdout: "pipe",
    stderr: "pipe",
  });
  const [out, err, code] = await Promise.all([
    new Response(p.stdout).text(),
    new Response(p.stderr).text(),
    p.exited,
  ]);
  expect(code).toBe(0);
  // snakemake took the profile: each rule's job shows the requested mem_mb
  const log = out + err;
  for (const [rule, mb] of mem)
    expect(log).toMatch(new RegExp(`rule ${rule}:[^]*?resources: [^\\n]*mem_mb=${mb}\\b`));
}, 300_000);

test("rule names: only identifiers from well-formed metadata; a job's command line normalised", () => {
  const d = tempDir();
  const meta = join(d, ".snakemake", "metadata");
  mkdirSync(meta, { recursive: true });
  writeFileSync(
    join(meta, "a"),
    JSON.stringify({ rule: "sort_bam", shellcmd: "samtools  sort\n-o x.bam y.bam" }),
  );
  writeFileSync(join(meta, "b"), JSON.stringify({ rule: 'x":\n  - "evil', shellcmd: "evil" }));
  writeFileSync(join(meta, "c"), "not json");
  const rules = snakemakeRules(d);
  expect([...rules]).toEqual([["samtools sort -o x.bam y.bam", "sort_bam"]]);
  expect(jobShellCommand("/usr/bin/bash -c set -euo pipefail;  samtools sort -o x.bam y.bam")).toBe(
    "samtools sort -o x.bam y.bam",
  );
  expect(jobShellCommand("samtools index sorted/s1.bam")).toBe("samtools index sorted/s1.bam");
});
