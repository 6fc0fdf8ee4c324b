/**
 * `tracer advise`: statistics and suggestions over synthetic reports (the grouping and the arithmetic),
 * the Nextflow config parsed by Debian's groovy with hostile step names, and the command end to end over
 * three real runs of the grow pipeline.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, readlinkSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { advise, roundMemory } from "../../src/insight/advise.ts";
import {
  groovySelector,
  renderAdviceTable,
  renderNextflow,
  renderSnakemake,
} from "../../src/insight/advise-format.ts";
import type { Report } from "../../src/report/types.ts";
import type { Step } from "../../src/steps/index.ts";
import { cleanupTemp, ensureBuilt, isolatedEnv, run, tempDir } from "../helpers/harness.ts";
import { writeGrowPipeline } from "./_grow.ts";

afterAll(cleanupTemp);
const MiB = 1024 * 1024;

function step(name: string, o: Partial<Step> = {}): Step {
  return {
    index: 1,
    key: `nextflow-task:${name}`,
    name,
    kind: "nextflow-task",
    tool: "nextflow",
    tools: [],
    rootId: 1,
    pid: 1,
    command: "x",
    processIds: [1],
    startedAt: 0,
    endedAt: 60_000,
    durationMs: 60_000,
    cpuUs: 60e6,
    peakRssKb: 100 * 1024,
    peakRssUpperKb: o.peakRssKb ?? 100 * 1024,
    peakRssExact: true,
    rchar: 0,
    wchar: 0,
    readBytes: 0,
    writeBytes: 0,
    exitCode: 0,
    signal: null,
    oomKilled: false,
    failed: false,
    ...o,
  };
}
const report = (i: number, steps: Step[]) =>
  ({ run: { id: `r${i}`, name: `run${i}` }, steps, totals: {}, system: [] }) as unknown as Report;

describe("advice", () => {
  test("p50/p95/max per process name over runs; memory never below the max; cpus from parallelism", () => {
    const reports = [100, 120, 400].map((mib, i) =>
      report(i, [
        step(`ALIGN (s${i}a)`, { peakRssKb: mib * 1024, cpuUs: 150e6 }),
        step(`ALIGN (s${i}b)`, { peakRssKb: (mib - 50) * 1024 }),
      ]),
    );
    const a = advise("p", reports);
    expect(a.weak).toBeNull();
    expect(a.steps).toHaveLength(1);
    const s = a.steps[0]!;
    expect([s.name, s.instances, s.runs_seen]).toEqual(["ALIGN", 6, 3]);
    expect(s.peak_rss_bytes).toEqual({ p50: 100 * MiB, p95: 400 * MiB, max: 400 * MiB });
    // max(400 × 1.2, 400) = 480 MiB → 512 MiB; 150 s CPU in 60 s wall → 3 cpus; 60 s × 1.5 → 2 min
    expect(s.suggest).toEqual({
      memory_bytes: 512 * MiB,
      cpus: 3,
      time_minutes: 2,
      memory_basis: "observed",
    });
    // 150 s of CPU in 60 s wall uses 3 cpus at 83 %; the others 1 cpu at 100 %: p50 0.833
    expect(s.cpu_efficiency).toBe(0.833);
    expect(s.suggest!.memory_bytes).toBeGreaterThanOrEqual(s.peak_rss_bytes.max);
  });

  test("a 5 ms step with 6 ms of CPU (the shell's slice at its exec) is one cpu, not two", () => {
    // found by a newcomer: `samtools view` after `bash -c '…;'` got cpus 2
    const short = { durationMs: 5, cpuUs: 6000, endedAt: 5 };
    const a = advise(
      "p",
      [0, 1, 2].map((i) => report(i, [step("VIEW (1)", short)])),
    );
    expect(a.steps[0]!.suggest!.cpus).toBe(1);
  });

  test("a step seen in fewer runs than the pipeline's 3 is flagged weak on its own (found by a newcomer)", () => {
    const a = advise("p", [
      report(0, [step("ALIGN (1)"), step("ONCE (1)")]),
      report(1, [step("ALIGN (1)")]),
      report(2, [step("ALIGN (1)")]),
    ]);
    expect(a.weak).toBeNull();
    const table = renderAdviceTable(a);
    expect(table.split("\n").find((l) => l.endsWith("ONCE"))).toContain("seen in 1 run only");
    expect(table.split("\n").find((l) => l.endsWith("ALIGN"))).not.toContain("seen in");
    expect(renderNextflow(a)).toContain("// ONCE: WEAK, seen in 1 run only");
  });

  test("fewer than 3 runs: the advice says it is weak and why", () => {
    const a = advise("p", [report(0, [step("A")]), report(1, [step("A")])]);
    expect(a.weak).toContain("only 2 runs of pipeline p");
    expect(renderNextflow(a)).toContain("// WEAK ADVICE: only 2 runs");
  });

  test("an OOM-killed step is flagged and gets more than the peak it died at", () => {
    const a = advise("p", [
      report(0, [step("SORT (1)", { peakRssKb: 900 * 1024 })]),
      report(1, [step("SORT (1)", { peakRssKb: 2000 * 1024, oomKilled: true, failed: true, signal: 9 })]),
      report(2, [step("SORT (1)", { peakRssKb: 800 * 1024 })]),
    ]);
    const s = a.steps[0]!;
    expect([s.oom_kills, s.failures, s.oom_peak_bytes]).toEqual([1, 1, 2000 * MiB]);
    expect(s.suggest!.memory_bytes).toBe(3 * 1024 * MiB); // 2000 MiB × 1.5 → 3 GiB
    expect([s.oom_limit_bytes, s.suggest!.memory_basis]).toEqual([null, "oom-peak"]);
    expect(renderNextflow(a)).toContain("// SORT: OOM-killed 1×");
  });

  test("an OOM kill with its cgroup limit recorded: the suggestion is above the limit, not the peak", () => {
    const a = advise("p", [
      report(0, [step("SORT (1)", { peakRssKb: 900 * 1024 })]),
      // it died at a 2 GiB limit with only 1000 MiB of RSS seen (the rest was page cache, or between samples)
      report(1, [
        step("SORT (1)", {
          peakRssKb: 1000 * 1024,
          oomKilled: true,
          oomLimitKb: 2048 * 1024,
          failed: true,
          signal: 9,
        }),
      ]),
      report(2, [step("SORT (1)", { peakRssKb: 800 * 1024 })]),
    ]);
    const s = a.steps[0]!;
    expect([s.oom_limit_bytes, s.suggest!.memory_basis]).toEqual([2048 * MiB, "oom-limit"]);
    expect(s.suggest!.memory_bytes).toBe(3 * 1024 * MiB); // 2 GiB × 1.5, not 1000 MiB × 1.5 → 2 GiB
    expect(renderNextflow(a)).toContain("// SORT: OOM-killed 1× (limit 2.0GiB, peak then 1000MiB)");
  });

  test("a known request more than 2 × the suggestion is flagged over-requested, per figure", () => {
    const reports = [0, 1, 2].map((i) => report(i, [step(`ALIGN (${i})`), step("SORT (1)")]));
    const asked = {
      // 16 GiB and 8 cpus for 128 MiB / 1 cpu; 2 min asked for 2 min suggested: not over
      ALIGN: { memory_bytes: 16 * 1024 * MiB, cpus: 8, time_minutes: 2, source: "sbatch" as const },
      // exactly 2 × the suggestion is not over
      SORT: { memory_bytes: 256 * MiB, cpus: 2, time_minutes: null, source: "sbatch" as const },
    };
    const a = advise("p", reports, undefined, (_, s) => asked[s.name.split(" ")[0] as "ALIGN" | "SORT"]);
    const by = Object.fromEntries(a.steps.map((s) => [s.name, s]));
    expect(by.ALIGN!.suggest).toMatchObject({ memory_bytes: 128 * MiB, cpus: 1, time_minutes: 2 });
    expect(by.ALIGN!.over_requested).toEqual(["memory", "cpus"]);
    expect(by.SORT!.over_requested).toEqual([]);
    const t = renderAdviceTable(a);
    expect(t).toMatch(/16GiB\/8\/2m\s+over-requested memory\+cpus\s+ALIGN$/m);
    expect(t).toMatch(/256MiB\/2\/-\s+SORT$/m);
  });

  test("the table writes times as the report does: a 12 ms step is 0.012s and 12ms of CPU, not 0.0s", () => {
    const short = (ms: number) => step("SHORT (1)", { durationMs: ms, cpuUs: ms * 1000, endedAt: ms });
    const a = advise(
      "p",
      [12, 14, 15].map((ms, i) => report(i, [short(ms)])),
    );
    const row = renderAdviceTable(a)
      .split("\n")
      .find((l) => l.endsWith("SHORT"))!;
    expect(row).toContain("0.014s / 0.015s / 0.015s");
    expect(row).toContain("14ms / 15ms / 15ms");
    expect(row).not.toContain("0.0s");
  });

  test("memory rounds up to 128 MiB steps, then whole GiB", () => {
    expect(roundMemory(1)).toBe(128 * MiB);
    expect(roundMemory(129 * MiB)).toBe(256 * MiB);
    expect(roundMemory(1024 * MiB)).toBe(1024 * MiB);
    expect(roundMemory(1025 * MiB)).toBe(2048 * MiB);
  });
});

const groovy = Bun.which("groovy");
// Debian's groovy script looks for /usr/lib/jvm/default-java; point it at the java on PATH when that is missing
const javaHome = () => {
  const java = Bun.which("java");
  return java ? dirname(dirname(readlinkSync(java) ? realJava(java) : java)) : "";
};
function realJava(p: string): string {
  let cur = p;
  for (let i = 0; i < 10; i++) {
    try {
      const next = readlinkSync(cur);
      cur = next.startsWith("/") ? next : join(dirname(cur), next);
    } catch {
      break;
    }
  }
  return cur;
}

/** Debian's groovy running `script` over `files`: its stdout, stderr and exit code */
async function runGroovy(script: string, ...files: string[]) {
  const p = Bun.spawn([groovy!, "-e", script, ...files], {
    env: { ...process.env, JAVA_HOME: process.env.JAVA_HOME ?? javaHome() },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [out, err, code] = await Promise.all([
    new Response(p.stdout).text(),
    new Response(p.stderr).text(),
    p.exited,
  ]);
  return { out, err, code };
}
test.skipIf(!groovy)(
  "the Nextflow config compiles with groovy, every hostile name selects only itself",
  async () => {
    const names = [
      "ALIGN",
      "it's {evil}",
      "a'; System.exit(1); '",
      "q\\'}\n}\nprocess.foo = 1 //",
      "\\u000a not an escape",
      "bidi \u202e gnp.exe",
      "line\u2028sep",
      "!negated",
      "lone \udc80 byte",
      "mix [a-z]+ (.*) $x $" + "{y}", // a GString placeholder in a Groovy name
    ];
    const reports = [0, 1, 2].map((i) =>
      report(
        i,
        names.map((n) => step(n)),
      ),
    );
    const cfg = renderNextflow(advise("p'\n{", reports));
    const dir = tempDir();
    writeFileSync(join(dir, "advice.config"), cfg);
    writeFileSync(join(dir, "names.json"), JSON.stringify(names));
    const script = [
      "def c = new ConfigSlurper().parse(new File(args[0]).toURI().toURL())",
      "def names = new groovy.json.JsonSlurper().parse(new File(args[1]), 'UTF-8')",
      "def keys = c.process.keySet() as List",
      "def ok = names.withIndex().collect { n, i -> java.util.regex.Pattern.compile(keys[i]).matcher(n).matches() }",
      "def mem = keys.collect { c.process[it].memory }",
      "println groovy.json.JsonOutput.toJson([keys: keys.size(), other: c.keySet() as List, ok: ok, mem: mem.unique()])",
    ].join("\n");
    const { out, err, code } = await runGroovy(script, join(dir, "advice.config"), join(dir, "names.json"));
    expect(err).toBe("");
    expect(code).toBe(0);
    const r = JSON.parse(out.trim().split("\n").at(-1)!);
    // one entry a step, nothing injected beside `process`, each selector matching exactly its own name
    expect(r).toEqual({ keys: names.length, other: ["process"], ok: names.map(() => true), mem: ["128 MB"] });
    // and no recorded character reached the file raw
    expect(/[\u2028\u202e\udc80]/.test(cfg)).toBe(false);
    expect(groovySelector("a'b")).toBe("'a\\'b'");
  },
  120_000,
);

test.skipIf(!groovy)(
  "a recorded name in a Nextflow config comment (an OOM-killed step) cannot end the comment or break the file",
  async () => {
    // Groovy 2 (like Java) turns `\u000a` into a line break before it parses, in a comment too; and
    // sanitize's `\u{202e}` is no escape it accepts. Found with a real run: a script with this name,
    // OOM-killed in a 64 MiB cgroup, put `injected` into the config `tracer advise` wrote.
    const names = ['x\\u000ainjected = "PWNED"\\u000a\\u002f\\u002f.py', "bidi \u202e evil", "tail \\"];
    const reports = [0, 1, 2].map((i) =>
      report(
        i,
        names.map((n) => step(n, i === 2 ? { oomKilled: true, failed: true, signal: 9 } : {})),
      ),
    );
    const cfg = renderNextflow(advise("p", reports));
    const dir = tempDir();
    writeFileSync(join(dir, "advice.config"), cfg);
    const script = [
      "def c = new ConfigSlurper().parse(new File(args[0]).toURI().toURL())",
      "println groovy.json.JsonOutput.toJson([other: c.keySet() as List, process: c.process.keySet().size()])",
    ].join("\n");
    const { out, err, code } = await runGroovy(script, join(dir, "advice.config"));
    expect(err).toBe("");
    expect(code).toBe(0);
    // the file parses, and holds one selector a step and nothing else (no `injected`)
    expect(JSON.parse(out.trim().split("\n").at(-1)!)).toEqual({ other: ["process"], process: names.length });
    // each name is in an OOM comment line, its backslashes doubled: none can start a unicode escape
    for (const n of names)
      expect(cfg).toContain(`// ${n.replace("\u202e", "\\u{202e}").replaceAll("\\", "\\\\")}: OOM`);
  },
  120_000,
);

// PyYAML, as Snakemake reads a profile with it (Debian's python3: the one snakemake runs on)
const pyyaml = Bun.spawnSync(["/usr/bin/python3", "-c", "import yaml"], { stderr: "ignore" }).exitCode === 0;

test.skipIf(!pyyaml)(
  "a recorded name in a Snakemake profile comment is nothing YAML refuses (U+FFFF)",
  () => {
    // found with a real run: a Snakemake job `echo '\uffff'` without metadata (--drop-metadata) gave
    // '# no rule known for job "…": skipped' with the raw U+FFFF, and `snakemake --profile` stopped at
    // "Couldn't parse config file: unacceptable character #xffff"
    const names = ["echo '\uffff' > out", "x \ufffe y", "z \u{10ffff}"];
    const reports = [0, 1, 2].map((i) =>
      report(
        i,
        names.map((n) => step(n, { kind: "snakemake-job" })),
      ),
    );
    const profile = renderSnakemake(advise("p", reports));
    expect(profile).toContain("# no rule known for job \"echo '\\u{ffff}' > out\": skipped");
    const p = Bun.spawnSync(
      ["/usr/bin/python3", "-c", "import sys, yaml; print(yaml.safe_load(sys.stdin.read()) == {})"],
      { stdin: Buffer.from(profile), stdout: "pipe", stderr: "pipe" },
    );
    expect(p.stderr.toString()).toBe("");
    // nothing to set: an empty mapping, and the file loads
    expect(p.stdout.toString()).toBe("True\n");
  },
);

const snakemake = Bun.which("snakemake");

test.skipIf(!snakemake)("a profile with no job of a known rule is one Snakemake accepts", () => {
  // only comments made a file YAML reads as nothing, and `snakemake --profile` stopped at "returned
  // type 'NoneType' instead of 'dict'"
  const profile = renderSnakemake(
    advise(
      "p",
      [0, 1, 2].map((i) => report(i, [step("sleep 1", { kind: "snakemake-job" })])),
    ),
  );
  expect(profile).toContain("# no Snakemake job with a known rule in these runs");
  const dir = tempDir();
  mkdirSync(join(dir, "profile"));
  writeFileSync(join(dir, "profile", "config.yaml"), profile);
  writeFileSync(join(dir, "Snakefile"), 'rule all:\n    shell: "true"\n');
  const r = Bun.spawnSync(
    [snakemake!, "--profile", join(dir, "profile"), "-n", "-j1", "-s", join(dir, "Snakefile")],
    {
      cwd: dir,
      stdout: "pipe",
      stderr: "pipe",
    },
  );
  expect(r.stderr.toString()).not.toContain("instead of 'dict'");
  expect(r.exitCode).toBe(0);
});

describe("tracer advise over real runs", () => {
  let env: Record<string, string>;
  beforeAll(async () => {
    await ensureBuilt();
    const dir = tempDir();
    writeGrowPipeline(dir);
    env = isolatedEnv();
    for (const mib of ["100", "150", "120"]) {
      const r = await run(["run", "--quiet", "--pipeline", "grow", "--", "./pipeline.sh", mib, "0"], {
        env,
        cwd: dir,
      });
      expect(r.code).toBe(0);
    }
  });

  test("table and json: three runs, grow's memory ≥ its max peak, not weak", async () => {
    const t = await run(["advise", "--pipeline", "grow"], { env });
    expect(t.code).toBe(0);
    expect(t.stdout).not.toContain("WEAK");
    expect(t.stdout).toMatch(/^\s+3\s+3\s.*\bgrow$/m);
    const j = JSON.parse((await run(["advise", "--format", "json"], { env })).stdout);
    const grow = j.steps.find((s: { name: string }) => s.name === "grow");
    expect(grow.runs_seen).toBe(3);
    expect(grow.peak_rss_bytes.max).toBeGreaterThan(145 * MiB);
    expect(grow.suggest.memory_bytes).toBeGreaterThanOrEqual(grow.peak_rss_bytes.max);
    const two = await run(["advise", "--last", "2", "--format", "nextflow"], { env });
    expect(two.stdout).toContain("// WEAK ADVICE: only 2 runs of pipeline grow");
    expect(two.stdout).toContain("withName: 'grow' {");
    expect((await run(["advise", "--format", "yaml"], { env })).code).toBe(2);
  });

  test("a run whose CMD could not start (0 processes) is not counted among the runs advised from", async () => {
    const none = await run(["run", "--quiet", "--pipeline", "grow", "--", "/nonexistent/tool"], { env });
    expect(none.code).toBe(127);
    const j = JSON.parse((await run(["advise", "--pipeline", "grow", "--format", "json"], { env })).stdout);
    expect(j.runs).toHaveLength(3);
    // with the last two asked for: the two newest runs that recorded something, not the empty one
    const two = JSON.parse(
      (await run(["advise", "--pipeline", "grow", "--last", "2", "--format", "json"], { env })).stdout,
    );
    expect(two.runs).toHaveLength(2);
    expect(two.weak).toContain("only 2 runs");
  });
});
