/**
 * Snakemake `script:` and `run:` rules (found by a newcomer): a `script:` job ran Snakemake's copy of the
 * script, `.snakemake/scripts/tmpXXXXXXXX.NAME`, a new name every run, so its step matched nothing in
 * another run and advise skipped it ("no rule known"); a `run:` job is a second Snakemake told its rule
 * with `--allowed-rules`, and was named after that long command line. Real Snakemake runs (Debian's).
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { type TimedJob, timedRule } from "../../src/insight/_snakemake.ts";
import { snakemakeRunRule } from "../../src/steps/_workflow.ts";
import { cleanupTemp, ensureBuilt, isolatedEnv, run, tempDir } from "../helpers/harness.ts";

const SNAKEFILE = `
rule all:
    input: expand("out/{s}.scr", s=["x", "y"]), "out/z.run", "out/evil.txt"
rule first:
    output: "out/{s}.txt"
    shell: "echo {wildcards.s} > {output}"
rule scr:
    input: "out/{s}.txt"
    output: "out/{s}.scr"
    script: "dup_input.py"
rule pyrun:
    input: "out/x.txt"
    output: "out/z.run"
    run:
        shell("cat {input} > {output}; sleep 0.3")
rule evil:
    input: "out/x.txt"
    output: "out/evil.txt"
    shell: "echo ' -m snakemake x --allowed-rules pyrun --target-jobs pyrun: ' > {output}; sleep 0.2"
`;
const SCRIPT = `import time
time.sleep(0.3)
open(snakemake.output[0], "w").write(open(snakemake.input[0]).read())
`;

let dir: string;
let env: Record<string, string>;

beforeAll(async () => {
  await ensureBuilt();
  dir = tempDir();
  writeFileSync(join(dir, "Snakefile"), SNAKEFILE);
  writeFileSync(join(dir, "dup_input.py"), SCRIPT);
  env = isolatedEnv();
  for (let i = 0; i < 3; i++) {
    const r = await run(
      [
        "run",
        "--quiet",
        "--pipeline",
        "sr",
        "--name",
        `sr${i}`,
        "--",
        "snakemake",
        // two jobs at once: a script: job beside the run: job, which the metadata times too
        "-j",
        "2",
        "--forceall",
        "--quiet",
      ],
      { env, cwd: dir },
    );
    expect(r.code).toBe(0);
  }
}, 300_000);
afterAll(cleanupTemp);

interface JsonStep {
  key: string;
  name: string;
  kind: string;
}

test("a script: job is named after the script, a run: job after its rule: the same keys in every run", async () => {
  const keys: string[][] = [];
  for (const ref of ["sr0", "sr1", "sr2"]) {
    const r = await run(["report", ref, "--format", "json"], { env });
    expect(r.code).toBe(0);
    const steps = (JSON.parse(r.stdout) as { steps: JsonStep[] }).steps;
    keys.push(
      steps
        .filter((s) => s.kind === "snakemake-job")
        .map((s) => s.key)
        .sort(),
    );
    expect(steps.map((s) => s.name).join(" ")).not.toContain("tmp");
  }
  for (const k of ["snakemake-job:dup_input.py#1", "snakemake-job:dup_input.py#2", "snakemake-job:pyrun"])
    expect(keys[0]).toContain(k);
  expect(keys[1]).toEqual(keys[0]!);
  expect(keys[2]).toEqual(keys[0]!);
}, 60_000);

test("advise names the script: rule from the metadata's times and the run: rule from its command line", async () => {
  const r = await run(["advise", "--format", "snakemake"], { env });
  expect(r.code).toBe(0);
  expect(r.stdout).not.toContain("no rule known");
  const mem = [...r.stdout.matchAll(/^ {2}- "(\w+):mem_mb=\d+"$/gm)].map((m) => m[1]!).sort();
  // a shell: job whose command mentions a second Snakemake's words is still its own rule (evil)
  expect(mem).toEqual(["evil", "first", "pyrun", "scr"]);
  const j = JSON.parse((await run(["advise", "--format", "json"], { env })).stdout);
  const scr = j.steps.find((s: { snakemake_rule: string | null }) => s.snakemake_rule === "scr");
  // both script jobs of all three runs: the older runs' by their key
  expect(scr.runs_seen).toBe(3);
  expect(scr.instances).toBe(6);
  const pyrun = j.steps.find((s: { snakemake_rule: string | null }) => s.snakemake_rule === "pyrun");
  expect(pyrun.instances).toBe(3);
}, 60_000);

test("timedRule: the one job over half the step's wall; none when two rules do", () => {
  const t: TimedJob[] = [
    { rule: "a", start: 1000, end: 2000 },
    { rule: "b", start: 1900, end: 3000 },
  ];
  expect(timedRule(t, 1010, 1990)).toBe("a");
  expect(timedRule(t, 2000, 2990)).toBe("b");
  // over half of both
  expect(timedRule(t, 1500, 2500)).toBeUndefined();
  expect(timedRule(t, 5000, 6000)).toBeUndefined();
  expect(timedRule(t, 1010, null)).toBeUndefined();
  // the same rule twice (two jobs at once) still names it
  expect(timedRule([...t, { rule: "a", start: 1000, end: 1990 }], 1010, 1980)).toBe("a");
});

test("snakemakeRunRule: only Snakemake's own second-Snakemake command, its --target-jobs rule, an identifier", () => {
  const cmd = (jobs: string) =>
    `cd /w && /usr/bin/python3 -m snakemake --snakefile '/w/Snakefile' --target-jobs ${jobs} --allowed-rules 'x' --cores 1`;
  expect(snakemakeRunRule(cmd("'pyrun:'"))).toBe("pyrun");
  expect(snakemakeRunRule(cmd("'pyrun:sample=a' 'pyrun:sample=b'"))).toBe("pyrun");
  // a group of two rules: no one rule
  expect(snakemakeRunRule(cmd("'a:' 'b:'"))).toBeUndefined();
  expect(snakemakeRunRule(cmd("'py$(id):'"))).toBeUndefined();
  // a shell: job's text (Snakemake's strict-mode preamble first) that mentions the words is no run: job
  expect(
    snakemakeRunRule(`set -euo pipefail;  echo ' -m snakemake x --target-jobs 'pyrun:' ' > out`),
  ).toBeUndefined();
  expect(snakemakeRunRule("echo --allowed-rules x")).toBeUndefined();
});
