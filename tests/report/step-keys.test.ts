/**
 * A step's key (`KIND:NAME#N`) is what `diff` and `advise` match across runs. Steps with one name that
 * were started together (a scheduler's batch: Snakemake's `-j 2` launched two jobs of one rule within a
 * millisecond) used to be numbered in start order, a race: identical runs swapped sample a's job and
 * sample b's, and `diff --fail-on-regression` failed on a rerun (newcomer). Started together, they are
 * now numbered by command line; started apart, in start order.
 */
import { afterAll, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { loadRules } from "../../src/rules/index.ts";
import { type StepProcess, groupSteps } from "../../src/steps/index.ts";
import { BIN, cleanupTemp, isolatedEnv, tempDir } from "../helpers/harness.ts";
import { stepProcess } from "../helpers/step-process.ts";

afterAll(cleanupTemp);

const proc = (id: number, argv: string[], startedAt: number): StepProcess =>
  stepProcess(id, { argv, startedAt, endedAt: startedAt + 50 });

const keysOf = (procs: StepProcess[]) =>
  Object.fromEntries(
    groupSteps(procs, loadRules())
      .filter((s) => s.kind === "tool")
      .map((s) => [s.command, s.key]),
  );

test("steps started together are numbered by command line, whichever started first", () => {
  const T = 1_000_000;
  const shell = proc(1, ["bash", "pipeline.sh"], T);
  const a = ["samtools", "sort", "-o", "a.bam", "a.sam"];
  const b = ["samtools", "sort", "-o", "b.bam", "b.sam"];
  const want = { [a.join(" ")]: "tool:samtools sort#1", [b.join(" ")]: "tool:samtools sort#2" };
  expect(keysOf([shell, proc(2, a, T + 10), proc(3, b, T + 11)])).toEqual(want);
  expect(keysOf([shell, proc(2, b, T + 10), proc(3, a, T + 11)])).toEqual(want);
  // started seconds apart: start order (a command line may hold a run's temporary names)
  expect(keysOf([shell, proc(2, b, T + 10), proc(3, a, T + 5000)])).toEqual({
    [b.join(" ")]: "tool:samtools sort#1",
    [a.join(" ")]: "tool:samtools sort#2",
  });
});

test("two samtools started together by a shell, b first: the same keys run after run (real processes)", () => {
  const dir = tempDir();
  const env = isolatedEnv();
  writeFileSync(join(dir, "a.sam"), "@HD\tVN:1.6\n");
  writeFileSync(join(dir, "b.sam"), "@HD\tVN:1.6\n");
  const script = "samtools view -c b.sam >/dev/null & samtools view -c a.sam >/dev/null & wait";
  const keys: Record<string, string>[] = [];
  for (const name of ["one", "two", "three"]) {
    const r = Bun.spawnSync([BIN, "run", "--quiet", "--name", name, "--", "bash", "-c", script], {
      env,
      cwd: dir,
      stderr: "pipe",
    });
    expect(r.exitCode, r.stderr.toString()).toBe(0);
    const rep = Bun.spawnSync([BIN, "report", name, "--format", "json"], { env, stdout: "pipe" });
    const steps = (JSON.parse(rep.stdout.toString()) as { steps: { key: string; command: string }[] }).steps;
    keys.push(
      Object.fromEntries(steps.filter((s) => s.key.startsWith("tool:")).map((s) => [s.command, s.key])),
    );
  }
  const want = {
    "samtools view -c a.sam": "tool:samtools view#1",
    "samtools view -c b.sam": "tool:samtools view#2",
  };
  // (on a host at load 7, one samtools of one run was once recorded as plain `samtools`, a step of
  // another name: the keys are checked in the runs where both command lines were recorded, at least two)
  const whole = keys.filter((k) => Object.keys(want).every((c) => c in k));
  expect(whole.length).toBeGreaterThanOrEqual(2);
  for (const k of whole) expect(k).toMatchObject(want);
});

test("a name holding `#` cannot take another step's key: `s.sh#2` is not the second `s.sh`", () => {
  const T = 1_000_000;
  const shell = proc(1, ["bash", "-c", "x"], T);
  const steps = groupSteps(
    [
      shell,
      proc(2, ["bash", "s.sh", "0.2"], T + 1000),
      proc(3, ["bash", "s.sh", "0.01"], T + 2000),
      proc(4, ["bash", "s.sh#2", "0.01"], T + 3000),
      proc(5, ["bash", "a\\b#1"], T + 4000),
    ],
    loadRules(),
  ).filter((s) => s.kind === "script");
  expect(steps.map((s) => [s.name, s.key])).toEqual([
    ["s.sh", "script:s.sh#1"],
    ["s.sh", "script:s.sh#2"],
    ["s.sh#2", "script:s.sh\\#2"],
    ["a\\b#1", "script:a\\\\b\\#1"],
  ]);
});
