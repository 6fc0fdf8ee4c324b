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
  const all = groupSteps([sh, bwa, child, sort], rules);
  // the wrapper itself is attributed to the `other` step of its executable
  expect(all.map((s) => [s.name, s.kind])).toEqual([
    ["run.sh", "other"],
    ["bwa mem", "tool"],
    ["samtools sort", "tool"],
  ]);
  expect(all[0]!.processIds).toEqual([sh.id]);
  const steps = all.slice(1);
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
  const steps = groupSteps([smk, job1, bwa, st, job2, wc], rules).filter((s) => s.kind !== "other");
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
  const steps = groupSteps([nf, t1, sh, bwa, t2], rules).filter((s) => s.kind !== "other");
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
  expect(steps).toHaveLength(20_001); // and the wrapper's `other` step
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
  const html = renderReport(buildReport({ run, processes: procs, steps, system: [] }), "html");
  expect(html.length).toBeLessThan(1024 * 1024);
  expect(html).toContain('data-step="20001"');
  expect(html).toContain("300 of 20001 steps (every failed one, then the first)");
});

test("a subshell fork (its parent's command line, no exec) is part of its parent, not a step of its own", () => {
  const py = proc(null, ["python3", "/w/demo/simulate.py", "300000"], { userUs: 600_000 });
  const forks = [1, 2, 3].map(() => proc(py, ["python3", "/w/demo/simulate.py", "300000"], { userUs: 0 }));
  const steps = groupSteps([py, ...forks], rules);
  expect(steps.map((s) => [s.name, s.processIds.length])).toEqual([["simulate.py", 4]]);
  expect(steps[0]!.cpuUs).toBe(610_000 + 3 * 10_000);
});

/** every process in exactly one step, and the steps' sums are the run's */
function expectCovers(procs: StepProcess[], steps: ReturnType<typeof groupSteps>) {
  const ids = steps.flatMap((s) => s.processIds).sort((a, b) => a - b);
  expect(ids).toEqual(procs.map((p) => p.id).sort((a, b) => a - b));
  const sum = (f: (p: StepProcess) => number) => procs.reduce((a, p) => a + f(p), 0);
  expect(steps.reduce((a, s) => a + s.cpuUs, 0)).toBe(sum((p) => (p.userUs ?? 0) + (p.systemUs ?? 0)));
  expect(steps.reduce((a, s) => a + s.readBytes, 0)).toBe(sum((p) => p.readBytes ?? 0));
  expect(steps.reduce((a, s) => a + s.writeBytes, 0)).toBe(sum((p) => p.writeBytes ?? 0));
}

test("make: each recipe is a step named by its target, its compiler's children rolled up", () => {
  const make = proc(null, ["make", "-j2"]);
  // make execs a simple recipe itself, and hands one with shell syntax to sh -c
  const cc1 = proc(make, ["cc", "-O2", "-c", "m1.c"]);
  const cc1kids = [
    proc(cc1, ["/usr/libexec/gcc/x86_64-linux-gnu/12/cc1", "-quiet", "m1.c"], { userUs: 900_000 }),
    proc(cc1, ["as", "--64", "-o", "/tmp/ccX.o"]),
  ];
  const sh = proc(make, ["/bin/sh", "-c", "echo CC m2.c; cc -O2 -c m2.c -o 'obj/m2.o'"]);
  const cc2 = proc(sh, ["cc", "-O2", "-c", "m2.c", "-o", "obj/m2.o"]);
  const link = proc(make, ["cc", "-o", "prog", "m1.o", "obj/m2.o"]);
  const ld = proc(link, ["/usr/bin/ld", "-o", "prog", "m1.o"]);
  const ar = proc(make, ["ar", "rcs", "libm.a", "m1.o"]);
  const procs = [make, cc1, ...cc1kids, sh, cc2, link, ld, ar];
  const steps = groupSteps(procs, rules);
  expect(steps.map((s) => [s.name, s.kind, s.processIds.length])).toEqual([
    ["make", "other", 1],
    ["m1.o", "make-recipe", 3],
    ["obj/m2.o", "make-recipe", 2],
    ["prog", "make-recipe", 2],
    ["ar", "make-recipe", 1],
  ]);
  expect(steps[1]!.tools).toEqual(["cc m1.o"]);
  expect(steps[1]!.cpuUs).toBe(110_000 * 2 + 910_000);
  expect(steps.map((s) => s.key)).toEqual([
    "other:make",
    "make-recipe:m1.o",
    "make-recipe:obj/m2.o",
    "make-recipe:prog",
    "make-recipe:ar",
  ]);
  expectCovers(procs, steps);
});

test("work no rule names is never dropped: `other` steps by executable, forks with their parent", () => {
  const sh = proc(null, ["/bin/sh", "demo/pipeline.sh"]);
  const mk = proc(sh, ["mktemp", "-d"]);
  const sub = proc(sh, ["/bin/sh", "demo/pipeline.sh"]); // a subshell fork: the wrapper's
  const cut = proc(sub, ["cut", "-f2", "sorted.tsv"], { userUs: 300_000, readBytes: 8192 });
  const uniq = proc(sub, ["uniq", "-c"], { userUs: 200_000 });
  const sort = proc(sub, ["sort", "-rn"]);
  const cut2 = proc(sh, ["/usr/bin/cut", "-f1", "x"]);
  const procs = [sh, mk, sub, cut, uniq, sort, cut2];
  const steps = groupSteps(procs, rules);
  expect(steps.map((s) => [s.key, s.kind, s.processIds])).toEqual([
    ["other:pipeline.sh", "other", [sh.id, sub.id]],
    ["other:mktemp", "other", [mk.id]],
    ["other:cut", "other", [cut.id, cut2.id]],
    ["other:uniq", "other", [uniq.id]],
    ["tool:sort", "tool", [sort.id]],
  ]);
  const c = steps[2]!;
  expect(c.cpuUs).toBe(310_000 + 110_000);
  expect([c.startedAt, c.endedAt, c.exitCode, c.failed]).toEqual([cut.startedAt, cut2.endedAt, 0, false]);
  expectCovers(procs, steps);
});

test("an `other` step's exit: the first process that did not exit 0, by code or by signal, or the first crash; a failure only when one crashed", () => {
  // a wrapper with a named tool inside is transparent: its unnamed commands become `other` steps
  const exitOf = (list: Partial<StepProcess>[]) => {
    const sh = proc(null, ["/bin/sh", "x.sh"]);
    const procs = [sh, proc(sh, ["sort", "-n"]), ...list.map((o) => proc(sh, ["mktemp", "-q"], o))];
    const s = groupSteps(procs, rules).find((x) => x.key === "other:mktemp")!;
    return [s.exitCode, s.signal, s.failed];
  };
  expect(exitOf([{}, { exitCode: null, signal: 9 }, { exitCode: 1 }])).toEqual([null, 9, false]);
  expect(exitOf([{ exitCode: 1 }, { exitCode: null, signal: 9 }])).toEqual([1, null, false]);
  expect(exitOf([{}, {}])).toEqual([0, null, false]);
  // a crash (a fault, a resource limit) is never an answer: the step fails, whichever process it was,
  // and its exit is the first crash, what failed it (not the exit 1 before it: `FAILED 1` named no cause)
  expect(exitOf([{ exitCode: 1 }, { exitCode: null, signal: 11 }])).toEqual([null, 11, true]);
  expect(exitOf([{ exitCode: null, signal: 7 }, { exitCode: 1 }, { exitCode: null, signal: 11 }])).toEqual([
    null,
    7,
    true,
  ]);
  expect(exitOf([{ exitCode: null, signal: 6 }])).toEqual([null, 6, true]);
  expect(exitOf([{ exitCode: null, signal: 24 }])).toEqual([null, 24, true]);
  expect(
    exitOf([
      { exitCode: null, signal: 15 },
      { exitCode: null, signal: 2 },
    ]),
  ).toEqual([null, 15, false]);
});

test("step keys: same-named steps get their ordinal in start order", () => {
  const sh = proc(null, ["/bin/bash", "-c", "x"]);
  const a = proc(sh, ["samtools", "sort", "a.bam"]);
  const b = proc(sh, ["samtools", "index", "a.bam"]);
  const c = proc(sh, ["samtools", "sort", "b.bam"]);
  const steps = groupSteps([sh, a, b, c], rules);
  expect(steps.map((s) => s.key)).toEqual([
    "other:bash",
    "tool:samtools sort#1",
    "tool:samtools index",
    "tool:samtools sort#2",
  ]);
});

test("recursive make: a recipe that runs make is not a step, the inner make's recipes are", () => {
  const make = proc(null, ["make"]);
  const sh = proc(make, ["/bin/sh", "-c", "cd lib && make"]);
  const inner = proc(sh, ["make"]);
  const cc = proc(inner, ["cc", "-c", "a.c"]);
  const cc1 = proc(cc, ["/usr/libexec/gcc/x86_64-linux-gnu/12/cc1", "a.c"]);
  const link = proc(make, ["cc", "-o", "prog", "lib/a.o"]);
  const procs = [make, sh, inner, cc, cc1, link];
  const steps = groupSteps(procs, rules);
  expect(steps.map((s) => [s.key, s.processIds])).toEqual([
    ["other:make", [make.id, inner.id]],
    ["other:sh", [sh.id]],
    ["make-recipe:a.o", [cc.id, cc1.id]],
    ["make-recipe:prog", [link.id]],
  ]);
  expectCovers(procs, steps);
});
