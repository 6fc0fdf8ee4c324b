/**
 * A Snakemake job whose shell command ends in a command no rule names: bash runs that last command in
 * its own place, so the job's process is `mv` or `touch` by its end. It is still the job (its prior
 * command line, the `bash -c` Snakemake started, is kept), with its rule from Snakemake's metadata, and
 * the job keeps its shell's whole time (found by a newcomer: the rule vanished from steps and advise).
 */
import { afterAll, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { BIN, cleanupTemp, isolatedEnv, tempDir } from "../helpers/harness.ts";

afterAll(cleanupTemp);

test("jobs ending in `mv`, `touch`, `env … touch` or an inner shell are snakemake-job steps, named by their rules in advise", () => {
  const dir = tempDir();
  writeFileSync(
    join(dir, "Snakefile"),
    [
      "rule all:",
      '    input: "out1.txt", "out2.txt", "out3.txt", "out4.txt"',
      "rule map:",
      '    output: "out1.txt"',
      '    shell: "md5sum Snakefile > {output}.tmp; sleep 0.3; mv {output}.tmp {output}"',
      "rule mark:",
      '    output: "out2.txt"',
      '    shell: "touch {output}"',
      // the shell's last command execs again (env, then touch), and a shell inside the job's shell
      "rule envtail:",
      '    output: "out3.txt"',
      '    shell: "sleep 0.1; env LC_ALL=C touch {output}"',
      "rule nested:",
      '    output: "out4.txt"',
      "    shell: \"bash -c 'echo 1 > {output}.tmp; sleep 0.1; mv {output}.tmp {output}'\"",
      "",
    ].join("\n"),
  );
  const env = isolatedEnv();
  const sm = Bun.spawnSync(
    [BIN, "run", "--quiet", "--pipeline", "tailjobs", "--", "snakemake", "-c1", "--forceall", "-q"],
    { env, cwd: dir, stdout: "pipe", stderr: "pipe" },
  );
  expect(sm.exitCode).toBe(0);
  const rep = Bun.spawnSync([BIN, "report", "--format", "json"], { env, stdout: "pipe", stderr: "pipe" });
  const steps = (
    JSON.parse(rep.stdout.toString()) as {
      steps: { kind: string; name: string; command: string; duration_ms: number; processes: number }[];
    }
  ).steps;
  const jobs = steps.filter((s) => s.kind === "snakemake-job");
  expect(jobs).toHaveLength(4);
  // the job's command line is the shell Snakemake started, and its wall holds the sleep before `mv`
  const map = jobs.find((s) => s.command.includes("mv out1.txt.tmp out1.txt"))!;
  expect(map.command).toMatch(/bash -c set -euo pipefail;/);
  expect(map.processes).toBeGreaterThanOrEqual(3);
  expect(map.duration_ms).toBeGreaterThanOrEqual(300);
  expect(steps.some((s) => s.kind === "other" && (s.name === "mv" || s.name === "touch"))).toBe(false);
  const advice = Bun.spawnSync([BIN, "advise", "--pipeline", "tailjobs", "--format", "json"], {
    env,
    cwd: dir,
    stdout: "pipe",
    stderr: "pipe",
  });
  const names = (JSON.parse(advice.stdout.toString()) as { steps: { name: string }[] }).steps.map(
    (s) => s.name,
  );
  for (const rule of ["map", "mark", "envtail", "nested"]) expect(names).toContain(rule);
}, 120_000);
