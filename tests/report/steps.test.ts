/**
 * Grouping processes into steps. Process rows are written by hand here (a Nextflow installation is not
 * available to the tests; Snakemake's real process tree is covered by snakemake.test.ts), shaped as the
 * store returns them.
 */
import { afterAll, expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { buildReport, renderReport } from "../../src/report/index.ts";
import { loadRules } from "../../src/rules/index.ts";
import { type RssSamples, type StepProcess, groupSteps } from "../../src/steps/index.ts";
import { peakRss, peakRssUpperBound } from "../../src/steps/_rollup.ts";
import { cleanupTemp, tempDir } from "../helpers/harness.ts";

afterAll(cleanupTemp);
const rules = loadRules({ config: false });

let nextId = 1;
function proc(parent: StepProcess | null, argv: string[], o: Partial<StepProcess> = {}): StepProcess {
  const id = nextId++;
  return {
    id,
    pid: 1000 + id,
    parentId: parent?.id ?? null,
    comm: argv[0]!.slice(argv[0]!.lastIndexOf("/") + 1).slice(0, 15),
    argv,
    cwd: "/w",
    startedAt: 1000 * id,
    endedAt: 1000 * id + 500,
    exitCode: 0,
    signal: null,
    oomKilled: false,
    userUs: 100_000,
    systemUs: 10_000,
    peakRssKb: 1000,
    rchar: 10,
    wchar: 20,
    readBytes: 0,
    writeBytes: 4096,
    ...o,
  };
}

test("a tool is one step with its descendants rolled up; a shell script wrapping tools is transparent", () => {
  const sh = proc(null, ["/bin/bash", "run.sh"], { endedAt: 20_000 });
  const bwa = proc(sh, ["bwa", "mem", "ref.fa", "r.fq"], { endedAt: 9000 });
  const child = proc(bwa, ["/bin/sh", "-c", "gzip -dc r.fq.gz"], {
    userUs: 400_000,
    peakRssKb: 5000,
    endedAt: 7000,
  });
  const sort = proc(sh, ["samtools", "sort", "-o", "x.bam"], { exitCode: 1 });
  const steps = groupSteps([sh, bwa, child, sort], rules);
  expect(steps.map((s) => s.name)).toEqual(["bwa mem", "samtools sort"]);
  const [a, b] = steps;
  expect(a!.processIds).toEqual([bwa.id, child.id]);
  expect(a!.cpuUs).toBe(110_000 + 410_000);
  expect(a!.peakRssKb).toBe(5000);
  expect(a!.wchar).toBe(40);
  expect(a!.durationMs).toBe(9000 - bwa.startedAt!);
  expect(a!.failed).toBe(false);
  expect(b!.failed).toBe(true);
  expect(b!.exitCode).toBe(1);
});

test("a script with no named tool inside is itself the step; a signal or OOM kill is a failure", () => {
  const py = proc(null, ["python3", "scripts/plot.py"]);
  const inner = proc(py, ["/bin/sh", "-c", "ls"]);
  const killed = proc(null, ["minimap2", "-a", "ref"], { exitCode: null, signal: 9, oomKilled: true });
  const steps = groupSteps([py, inner, killed], rules);
  expect(steps.map((s) => [s.name, s.kind, s.processIds.length, s.failed])).toEqual([
    ["plot.py", "script", 2, false],
    ["minimap2", "tool", 1, true],
  ]);
});

test("Snakemake: each job shell the engine starts is a step named after the tools in it", () => {
  const smk = proc(null, ["/usr/bin/python3", "/usr/bin/snakemake", "-j", "2"], { comm: "snakemake" });
  const job1 = proc(smk, [
    "/bin/bash",
    "-c",
    "set -euo pipefail;  bwa mem ref.fa a.fq | samtools sort -o a.bam",
  ]);
  const bwa = proc(job1, ["bwa", "mem", "ref.fa", "a.fq"]);
  const st = proc(job1, ["samtools", "sort", "-o", "a.bam"]);
  const job2 = proc(smk, ["/bin/bash", "-c", "set -euo pipefail;  wc -l a.txt > b.txt"]);
  const wc = proc(job2, ["wc", "-l", "a.txt"]);
  const steps = groupSteps([smk, job1, bwa, st, job2, wc], rules);
  expect(steps.map((s) => [s.name, s.kind, s.processIds.length])).toEqual([
    ["bwa mem | samtools sort", "snakemake-job", 3],
    ["wc -l a.txt > b.txt", "snakemake-job", 2],
  ]);
  expect(steps[0]!.tools).toEqual(["bwa mem", "samtools sort"]);
});

test("Nextflow: a task is its work dir's .command.run subtree, named from the file's header", () => {
  const work = tempDir();
  const wd = join(work, "work", "3f", "a1b2c3d4e5f6");
  mkdirSync(wd, { recursive: true });
  writeFileSync(join(wd, ".command.run"), "#!/bin/bash\n# NEXTFLOW TASK: ALIGN (sample_1)\nset -e\n");
  const gone = join(work, "work", "9c", "ffee00112233");
  const nf = proc(null, ["java", "-cp", "nf.jar", "nextflow.cli.Launcher", "run", "main.nf"]);
  const t1 = proc(nf, ["/bin/bash", "-ue", ".command.run"], { cwd: wd });
  const sh = proc(t1, ["/bin/bash", "-ue", ".command.sh"], { cwd: wd });
  const bwa = proc(sh, ["bwa", "mem", "ref", "x"], { cwd: wd });
  const t2 = proc(nf, ["/bin/bash", "-ue", `${gone}/.command.run`], { exitCode: 1 });
  const steps = groupSteps([nf, t1, sh, bwa, t2], rules);
  expect(steps.map((s) => [s.name, s.kind, s.workdir, s.processIds.length, s.failed])).toEqual([
    ["ALIGN (sample_1)", "nextflow-task", wd, 3, false],
    ["task 9c/ffee00112233", "nextflow-task", gone, 1, true],
  ]);
  expect(steps[0]!.tools).toEqual(["bwa mem"]);
});

test("peak memory: the largest sum over one sampled instant, at least the largest VmHWM", () => {
  const a = proc(null, ["bwa"], { peakRssKb: 700 });
  const b = proc(null, ["samtools"], { peakRssKb: 300 });
  const samples: RssSamples = new Map([
    [
      a.id,
      [
        { at: 1, rssKb: 500 },
        { at: 2, rssKb: 600 },
      ],
    ],
    [
      b.id,
      [
        { at: 1, rssKb: 250 },
        { at: 3, rssKb: 300 },
      ],
    ],
  ]);
  expect(peakRss([a, b], samples).peakRssKb).toBe(750);
  expect(peakRss([a, b], new Map()).peakRssKb).toBe(700);
});

test("peak memory between samples: an upper bound from the per-process peaks of processes alive together", () => {
  const MiB = 1024;
  // two 300 MiB processes alive together for 0.2 s, between two 1 s samples that each saw one of them
  const step = proc(null, ["python3", "two.py"], { startedAt: 0, endedAt: 2000, peakRssKb: 12 * MiB });
  const x = proc(step, ["python3", "-c", "x"], { startedAt: 100, endedAt: 1100, peakRssKb: 300 * MiB });
  const y = proc(step, ["python3", "-c", "y"], { startedAt: 900, endedAt: 1900, peakRssKb: 300 * MiB });
  const samples: RssSamples = new Map([
    [step.id, [{ at: 500, rssKb: 12 * MiB }]],
    [x.id, [{ at: 500, rssKb: 300 * MiB }]],
    [y.id, [{ at: 1500, rssKb: 300 * MiB }]],
  ]);
  expect(peakRss([step, x, y], samples)).toEqual({
    peakRssKb: 312 * MiB,
    peakRssUpperKb: 612 * MiB,
    peakRssExact: false,
  });
  expect(peakRssUpperBound([step, x, y])).toBe(612 * MiB);
  // one after the other (the next starts after the last has ended): the bounds meet; lifetimes that
  // touch count as overlapping (the bound only grows)
  const z = proc(step, ["python3", "-c", "z"], { startedAt: 1100.5, endedAt: 1900, peakRssKb: 300 * MiB });
  expect(peakRss([step, x, z], samples)).toEqual({
    peakRssKb: 312 * MiB,
    peakRssUpperKb: 312 * MiB,
    peakRssExact: true,
  });
  // still running (no end) and no recorded start: alive from the beginning to the end
  const open = proc(step, ["cat"], { startedAt: null, endedAt: null, peakRssKb: 5 });
  expect(peakRssUpperBound([x, z, open])).toBe(300 * MiB + 5);
  expect(peakRssUpperBound([x, { ...z, startedAt: 1100 }])).toBe(600 * MiB);
});

test("the upper bound is one iterative sweep: 200,000 short processes, at most three alive at once", () => {
  const many: StepProcess[] = Array.from({ length: 200_000 }, (_, i) =>
    proc(null, ["true"], { startedAt: i, endedAt: i + 2.5, peakRssKb: 1 }),
  );
  // each lives 2.5 ms and one starts every ms: at most three alive at once
  expect(peakRssUpperBound(many)).toBe(3);
});

test("a huge run: 20 000 steps group in one pass and the HTML stays under 1 MB, keeping the failed step", () => {
  const root = proc(null, ["/bin/bash", "many.sh"], { endedAt: 10_000_000 });
  const kids = Array.from({ length: 20_000 }, (_, i) =>
    proc(root, ["samtools", "view", `chunk${i}.bam`], { exitCode: i === 19_999 ? 1 : 0 }),
  );
  const procs = [root, ...kids];
  const steps = groupSteps(procs, rules);
  expect(steps).toHaveLength(20_000);
  const run = {
    id: "r",
    name: "many",
    pipeline: "p",
    command: ["./many.sh"],
    cwd: "/",
    host: "h",
    mode: "proc-poll",
    recorderPid: 1,
    startedAt: root.startedAt!,
    endedAt: root.endedAt,
    exitCode: 0,
    signal: null,
    eventsLost: 0,
    status: "done",
    processes: procs.length,
  };
  const html = renderReport(
    buildReport({ run, processes: procs, steps, samples: new Map(), system: [] }),
    "html",
  );
  expect(html.length).toBeLessThan(1024 * 1024);
  expect(html).toContain('data-step="20000"');
  expect(html).toContain("300 of 20000 steps (every failed one, then the first)");
});

test("a subshell fork (its parent's command line, no exec) is part of its parent, not a step of its own", () => {
  const py = proc(null, ["python3", "/w/demo/simulate.py", "300000"], { userUs: 600_000 });
  const forks = [1, 2, 3].map(() => proc(py, ["python3", "/w/demo/simulate.py", "300000"], { userUs: 0 }));
  const steps = groupSteps([py, ...forks], rules);
  expect(steps.map((s) => [s.name, s.processIds.length])).toEqual([["simulate.py", 4]]);
  expect(steps[0]!.cpuUs).toBe(610_000 + 3 * 10_000);
});
