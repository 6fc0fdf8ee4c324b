/**
 * The process table makes each row's command line once: writeTable's width pass measures every
 * column but COMMAND, so it gets each row without it (src/run/proctable.ts cellsAt). A --processes all
 * table of 100,000 processes parsed each command line from its JSON twice before. And it rebuilds a
 * command line only when its whitespace needs collapsing.
 */
import { expect, test } from "bun:test";
import { sanitize } from "../../src/core/sanitize.ts";
import { loadRules } from "../../src/rules/index.ts";
import { commandLine } from "../../src/run/format.ts";
import { writeProcessTable } from "../../src/run/proctable.ts";
import { type StepColumns, type StepProcess, columnsOf } from "../../src/steps/index.ts";
import type { RunRow } from "../../src/store/index.ts";

/** a root and `n` children with varied figures, a few unknown */
function processes(n: number): (StepProcess & { durationUs: number | null })[] {
  const out: (StepProcess & { durationUs: number | null })[] = [];
  for (let k = 0; k <= n; k++)
    out.push({
      id: k + 1,
      pid: 1000 + k,
      parentId: k ? 1 : null,
      comm: k ? "tool" : "bash",
      argv: k ? ["tool", `--in=${k}`, "\x1b[31mred"] : ["bash", "run.sh"],
      cwd: null,
      startedAt: 1_000_000 + 7 * k,
      endedAt: 1_000_000 + 7 * k + (k % 5) * 1000,
      durationUs: k % 9 ? (k % 5) * 1e6 + k : null,
      exitCode: k % 13 ? 0 : 2,
      signal: k % 31 ? null : 9,
      oomKilled: k % 97 === 0 && k > 0,
      userUs: k % 11 ? 1234 * k : null,
      systemUs: 17 * k,
      peakRssKb: k % 7 ? 300 * k : null,
      rchar: 1024 ** (k % 5) * k,
      wchar: k,
      readBytes: k % 3 ? 4096 * k : null,
      writeBytes: 0,
    });
  return out;
}

test("--processes all: each row's command line is read once, and the table is the same as from the list", () => {
  const procs = processes(600);
  const c = columnsOf(procs, loadRules({ config: false }));
  let reads = 0;
  const counted: StepColumns = {
    ...c,
    lines: {
      ...c.lines,
      argv: (i) => {
        reads++;
        return c.lines.argv(i);
      },
    },
  };
  const run = { startedAt: 1_000_000 } as RunRow;
  const fromColumns: string[] = [];
  const { listed, total } = writeProcessTable(run, counted, (s) => fromColumns.push(s), {
    processes: "all",
    width: Number.POSITIVE_INFINITY,
  });
  expect([listed, total]).toEqual([601, 601]);
  expect(reads).toBe(601);
  // the same table laid out from the process list (rows as they are, nothing parsed)
  const fromList: string[] = [];
  writeProcessTable(run, procs, (s) => fromList.push(s), {
    processes: "all",
    width: Number.POSITIVE_INFINITY,
  });
  expect(fromColumns.join("")).toBe(fromList.join(""));
  // recorded text cleaned: no raw escape reached the table
  expect(fromColumns.join("")).not.toContain("\x1b");
  expect(fromColumns.join("")).toContain("\\x1b[31mred");
});

test("commandLine: whitespace collapsed and trimmed as before, tidy lines returned as they are", () => {
  // the former formula: every run of whitespace replaced, then trimmed
  const before = (argv: string[] | null, comm: string | null, max = 100) => {
    const s = (argv?.length ? argv.map(sanitize).join(" ") : `[${sanitize(comm ?? "?")}]`)
      .replace(/\s+/g, " ")
      .trim();
    return s.length > max ? `${s.slice(0, max - 1)}…` : s;
  };
  const pieces = [
    "a",
    "bwa",
    "",
    " ",
    "  ",
    "\u00a0",
    "\u3000",
    "x y",
    " lead",
    "trail ",
    "\u2028",
    "é",
    "\t",
    "-o",
  ];
  let seed = 7;
  const pick = () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return pieces[seed % pieces.length]!;
  };
  const differ: string[][] = [];
  for (let i = 0; i < 5000; i++) {
    const argv = Array.from({ length: 1 + (i % 5) }, () => pick() + pick());
    for (const max of [100, 8]) if (commandLine(argv, "c", max) !== before(argv, "c", max)) differ.push(argv);
  }
  expect(differ).toEqual([]);
  expect(commandLine(null, " x ")).toBe(before(null, " x "));
  expect(commandLine(["a", "b"], null)).toBe("a b");
});
