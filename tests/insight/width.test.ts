/**
 * `tracer diff`, `tracer runs` and `tracer advise` at 80 columns, a common terminal: before, their
 * tables ran past the width and the last column (the step's name, the run's command) was pushed off
 * the screen. Now they fit as the report's step table does (src/run/table.ts writeTable): figure
 * columns give way, a note names them, header lines wrap. Real runs under `tracer run` of a pipeline
 * whose steps have a long name, a CJK name (two columns a character) and an escape sequence in argv
 * (recorded data: shown escaped, never raw).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { sanitize } from "../../src/core/sanitize.ts";
import { columns } from "../../src/run/table.ts";
import { cleanupTemp, ensureBuilt, isolatedEnv, run, tempDir } from "../helpers/harness.ts";

/** a raw control byte (other than newline) in `s` */
const rawControl = (s: string) => /[\x00-\x09\x0b-\x1f\x7f\u0080-\u009f]/.test(s);
const RUNS = ["sample run A", "sample run B", "sample run C"];

let env: Record<string, string>;
/** the steps' names as the text outputs show them (escaped) */
let names: string[];

beforeAll(async () => {
  await ensureBuilt();
  const dir = tempDir();
  env = isolatedEnv();
  const script = (name: string, body: string) =>
    writeFileSync(join(dir, name), `#!/bin/sh\n${body}\n`, { mode: 0o755 });
  script("count-reads-per-sample", 'head -c "$1" /dev/zero | wc -c >/dev/null');
  script("排序数据", "sort /etc/passwd >/dev/null");
  script("samtools", "exit 0");
  // a step named by an argument holding ESC [2J (clear the screen) if it reached a terminal raw
  script(
    "pipeline.sh",
    './count-reads-per-sample "$1"\n./排序数据\n./samtools "$(printf "\\033[2J")"\n./samtools faidx ref.fa\nexit "$2"',
  );
  for (const [i, [bytes, exit]] of [
    ["1000", "0"],
    ["5000000", "0"],
    ["20000000", "1"],
  ].entries()) {
    const r = await run(
      ["run", "--quiet", "--name", RUNS[i]!, "--pipeline", "wide", "--", "./pipeline.sh", bytes!, exit!],
      {
        env,
        cwd: dir,
      },
    );
    expect(r.code, r.stderr).toBe(Number(exit));
  }
  const json = await run(["report", RUNS[0]!, "--format", "json"], { env });
  names = (JSON.parse(json.stdout) as { steps: { name: string }[] }).steps.map((s) => sanitize(s.name));
});
afterAll(cleanupTemp);

/** every line of `text` at most `width` terminal columns */
const fits = (text: string, width: number) => {
  const wide = text
    .trimEnd()
    .split("\n")
    .filter((l) => columns(l) > width);
  expect(wide).toEqual([]);
};

test("the pipeline was recorded with the steps the test is about", () => {
  expect(names).toContain("count-reads-per-sample");
  expect(names).toContain("排序数据");
  expect(names).toContain("samtools \\x1b[2J");
  expect(names).toContain("samtools faidx");
});

describe("--width 80", () => {
  test("diff: every line fits, every step keeps its whole name, the columns left out are named", async () => {
    const r = await run(["diff", RUNS[0]!, RUNS[2]!, "--width", "80"], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(rawControl(r.stdout)).toBe(false);
    fits(r.stdout, 80);
    const lines = r.stdout.split("\n");
    const head = lines.find((l) => l.startsWith("STATUS"))!;
    expect(head).toEndWith("  STEP");
    expect(head).toContain("EXIT"); // how a step ended stays
    for (const n of names) expect(lines.some((l) => l.endsWith(`  ${n}`))).toBe(true);
    const note = r.stdout.slice(r.stdout.indexOf("not shown at this width: ")).replace(/\n/g, " ");
    expect(note).toMatch(
      /^not shown at this width: [A-Z ,]*DISK WRITE.* \(--width or --json show every column\)/,
    );
    // the run lines wrap under their text instead of running past the width
    expect(r.stdout).toMatch(/^B {2}sample run C \(.*\n {3}.*\(newly-failed\)$/m);
    // unlimited: no column left out, no note
    const wide = await run(["diff", RUNS[0]!, RUNS[2]!, "--width", "0"], { env });
    expect(wide.stdout).toMatch(/^STATUS +EXIT +WALL +CPU +PEAK RSS +DISK READ +DISK WRITE +STEP$/m);
    expect(wide.stdout).not.toContain("not shown at this width");
  });

  test("runs: every line fits, every run keeps its name and command; the note goes to stderr", async () => {
    const r = await run(["runs", "--width", "80"], { env });
    expect(r.code, r.stderr).toBe(0);
    fits(r.stdout, 80);
    const [head, ...rows] = r.stdout.trimEnd().split("\n");
    expect(head).toMatch(/^ID +NAME .*STATUS .* COMMAND$/);
    expect(rows).toHaveLength(RUNS.length);
    for (const name of RUNS)
      expect(rows.some((l) => l.includes(`  ${name}  `) && /\.\/pipeline\.sh \d+ [01]$/.test(l))).toBe(true);
    // stdout stays table rows only (tracer runs | tail -n +2 | awk '{print $1}' gets run ids)
    for (const l of rows) expect(l).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4} /);
    const note = r.stderr.replace(/\n/g, " ");
    expect(note).toMatch(
      /^not shown at this width: [A-Z (),]*PIPELINE.* \(--width or --json show every column\)/,
    );
    // the same width from $COLUMNS when stdout is not a terminal, as the report takes it
    const byEnv = await run(["runs"], { env: { ...env, COLUMNS: "80" } });
    expect(byEnv.stdout).toBe(r.stdout);
  });

  test("runs --color always: colour goes around the cut text, never into a line's width or an escape", async () => {
    const r = await run(["runs", "--width", "80", "--color", "always"], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("\x1b[31mfailed\x1b[0m");
    const plain = r.stdout.replace(/\x1b\[[0-9;]*m/g, "");
    // every ESC was a whole colour code
    expect(plain).not.toContain("\x1b");
    fits(plain, 80);
  });

  test("advise: every line fits, every step keeps its whole name and the advice (MEM, CPUS, TIME)", async () => {
    const r = await run(["advise", "--pipeline", "wide", "--width", "80"], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(rawControl(r.stdout)).toBe(false);
    fits(r.stdout, 80);
    const lines = r.stdout.split("\n");
    const head = lines.find((l) => l.startsWith("RUNS"))!;
    expect(head).toMatch(/ MEM +CPUS +TIME .* STEP$/);
    // the pipeline's own shell is an "other" step (no request): named so
    for (const n of names)
      expect(lines.some((l) => l.endsWith(`  ${n}`) || l.endsWith(`  ${n} (other)`))).toBe(true);
    const note = r.stdout.slice(r.stdout.indexOf("not shown at this width: ")).replace(/\n/g, " ");
    expect(note).toContain("CPU p50/p95/max");
    expect(note).toContain("(--width or --format json show every column)");
    // other formats are not tables: --width leaves them as they are
    const nf = await run(["advise", "--pipeline", "wide", "--format", "nextflow", "--width", "80"], { env });
    const nfWide = await run(["advise", "--pipeline", "wide", "--format", "nextflow"], { env });
    expect(nf.stdout).toBe(nfWide.stdout);
  });

  test("runs: a wide terminal shows a long command whole; a narrow one cuts it to the width", async () => {
    const own = isolatedEnv();
    const long = `true ${"sample_0123456789_".repeat(8)}end`; // 150 characters
    const r0 = await run(["run", "--quiet", "--", "sh", "-c", long], { env: own });
    expect(r0.code, r0.stderr).toBe(0);
    const wide = await run(["runs", "--width", "300"], { env: own });
    expect(wide.stdout).toContain(`sh -c ${long}`);
    const all = await run(["runs", "--width", "0"], { env: own });
    expect(all.stdout).toContain(`sh -c ${long}`);
    const narrow = await run(["runs", "--width", "100"], { env: own });
    fits(narrow.stdout, 100);
    expect(narrow.stdout).toContain("sh -c true sample_0123456789_");
  });
});
