/**
 * Tables for any size (issue 17 item 3): the process table folds each step into one row by default,
 * --processes all|steps|N and --depth N choose what is listed, lines are cut to a width, CJK/emoji cells
 * stay aligned, and unknown figures are never shown as zero.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { buildReport } from "../../src/report/index.ts";
import { stepLabels } from "../../src/report/_labels.ts";
import { renderTable, totalsLines } from "../../src/report/table.ts";
import { runsTable } from "../../src/run/format.ts";
import { columns, fit, table, writeTable } from "../../src/run/table.ts";
import { cpuText } from "../../src/run/units.ts";
import { loadRules } from "../../src/rules/index.ts";
import { type StepProcess, groupSteps } from "../../src/steps/index.ts";
import type { RunRow } from "../../src/store/index.ts";
import { cleanupTemp, isolatedEnv, run, tempDir } from "../helpers/harness.ts";
import { PER_STEP, STEPS, recordBigPipeline } from "./_bigpipeline.ts";
import type { Recorded } from "./_pipeline.ts";

afterAll(cleanupTemp);

describe("a 3,000-process run with 20 steps", () => {
  let rec: Recorded;
  let names: string[];
  let processes: number;
  beforeAll(async () => {
    rec = await recordBigPipeline();
    const json = JSON.parse((await run(["report", rec.name, "--format", "json"], { env: rec.env })).stdout);
    names = stepLabels(json.steps);
    processes = json.totals.processes;
  }, 120_000);

  // the 20 steps, and the pipeline's own shell: no rule names it, so it is an "other" step of its own
  // (every process is in exactly one step, docs/RULES.md)
  test("recorded as built: 20 steps and the pipeline's shell, about 3,000 processes, two steps both named sort.sh", () => {
    expect(names).toHaveLength(STEPS + 1);
    expect(names[0]).toBe("pipeline.sh");
    expect(processes).toBeGreaterThanOrEqual(STEPS * (PER_STEP + 1));
    expect(names.filter((n) => n.startsWith("sort.sh #"))).toEqual(["sort.sh #1", "sort.sh #2"]);
  });

  test("the default table fits in 60 lines and names every step (twice: step table and folded rows)", async () => {
    const r = await run(["report", rec.name], { env: rec.env });
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split("\n");
    console.log(`default table: ${lines.length} lines for ${processes} processes`);
    expect(lines.length).toBeLessThanOrEqual(60);
    const procs = r.stdout.slice(r.stdout.indexOf("\nprocesses\n"));
    for (const n of names) {
      expect(r.stdout).toMatch(new RegExp(`  ${n.replace(/[.#]/g, "\\$&")}\n`));
      // the pipeline's shell is a step of one process: its row, then each step's own folded row
      if (n === "pipeline.sh") {
        expect(procs).toMatch(/\[pipeline\.sh\] \/bin\/bash \.\/pipeline\.sh\n/);
        continue;
      }
      // seq and the /bin/true (a few more on a loaded machine: forks seen before their exec)
      expect(procs).toMatch(
        new RegExp(`\\[${n.replace(/[.#]/g, "\\$&")}\\] \\(\\+\\d+ processes\\) /bin/bash `),
      );
    }
    expect(lines.at(-1)).toBe(
      `${STEPS + 1} of ${processes} processes listed, each step in one row: --processes all lists every one`,
    );
  }, 60_000);

  test("--processes all prints every process; N at most N rows and the rest counted", async () => {
    const all = await run(["report", rec.name, "--processes", "all"], { env: rec.env });
    const tail = all.stdout
      .slice(all.stdout.indexOf("\nprocesses\n") + 11)
      .trimEnd()
      .split("\n");
    expect(tail).toHaveLength(1 + processes); // the header, then one row each
    // a process that ended before its argv was read shows its comm: [true] (counted as "argv lost")
    // (a fork seen before its exec shows as bash: allow a few)
    const trues = tail.filter((l) => / (\/bin\/true|\[true\])$/.test(l)).length;
    expect(trues).toBeLessThanOrEqual(STEPS * PER_STEP);
    expect(trues).toBeGreaterThan(STEPS * PER_STEP * 0.99);
    const five = await run(["report", rec.name, "--processes", "5"], { env: rec.env });
    const rows = five.stdout
      .slice(five.stdout.indexOf("\nprocesses\n") + 11)
      .trimEnd()
      .split("\n");
    expect(rows).toHaveLength(1 + 5 + 1 + 1); // header, 5 rows, "… K more", the closing line
    expect(rows[6]).toMatch(new RegExp(`… ${processes - 5} more$`));
    expect(rows[7]).toStartWith(`5 of ${processes} processes listed: `);
  }, 60_000);

  test("--depth 1 lists the pipeline and its steps' roots; the deeper processes are counted", async () => {
    const r = await run(["report", rec.name, "--processes", "all", "--depth", "1"], { env: rec.env });
    const rows = r.stdout
      .slice(r.stdout.indexOf("\nprocesses\n") + 11)
      .trimEnd()
      .split("\n");
    expect(rows.filter((l) => l.includes("/bin/true"))).toEqual([]);
    expect(rows.filter((l) => / {4}… \d+ more$/.test(l))).toHaveLength(STEPS);
    // the hint names what cut the list: --depth here, not the --processes all already given
    expect(r.stdout.trimEnd().split("\n").at(-1)).toEndWith(": a larger --depth lists deeper ones");
    const bad = await run(["report", rec.name, "--depth", "-1"], { env: rec.env });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("--depth must be a whole number");
  }, 60_000);

  test("--width 80, a common terminal: every step keeps its name, figure columns give way and are named", async () => {
    // before: the figures took all 80 columns and the STEP and COMMAND columns were dropped whole
    const r = await run(["report", rec.name, "--width", "80"], { env: rec.env });
    expect(r.code).toBe(0);
    const steps = r.stdout.slice(r.stdout.search(/\n *# /), r.stdout.indexOf("\nprocesses\n"));
    const head = steps.trim().split("\n")[0]!;
    expect(head).toEndWith("STEP");
    expect(head).not.toContain("DISK WRITE");
    for (const n of names) expect(steps).toMatch(new RegExp(`  ${n.replace(/[.#]/g, "\\$&")}\n`));
    expect(steps).toContain("not shown at this width: ");
    expect(steps).toContain("DISK WRITE");
    const procs = r.stdout.slice(r.stdout.indexOf("\nprocesses\n") + 11);
    expect(procs.split("\n")[0]).toEndWith("COMMAND");
    for (const l of r.stdout.trimEnd().split("\n")) expect(columns(l)).toBeLessThanOrEqual(80);
  }, 60_000);

  test("--width cuts every line to that many columns; 0 cuts none", async () => {
    const r = await run(["report", rec.name, "--width", "100"], { env: rec.env });
    const procs = r.stdout
      .slice(r.stdout.indexOf("\nprocesses\n") + 11)
      .trimEnd()
      .split("\n");
    for (const l of procs.slice(0, -1)) expect(columns(l)).toBeLessThanOrEqual(100);
    expect(procs.some((l) => l.endsWith("…"))).toBe(true);
    const wide = await run(["report", rec.name, "--width", "0"], { env: rec.env });
    expect(wide.stdout).toMatch(/\(\+\d+ processes\) \/bin\/bash \.\/s20\/step20\.sh\n/);
  }, 60_000);
});

describe("wide characters", () => {
  test("columns and fit count CJK and emoji as two columns", () => {
    expect(columns("abc")).toBe(3);
    expect(columns("排序")).toBe(4);
    expect(columns("🧬x")).toBe(3);
    expect(fit("排序排序", 5)).toBe("排序…");
    expect(columns(fit("🧬🧬🧬🧬", 6))).toBeLessThanOrEqual(6);
    expect(fit("short", 10)).toBe("short");
  });

  test("a table stays aligned: the last column starts at the same terminal column on every line", () => {
    const t = table(
      ["NAME", "N", "END"],
      [
        ["排序数据", "1", "x"],
        ["🧬 align", "22", "y"],
        ["plain", "333", "z"],
      ],
      new Set([1]),
    );
    const starts = t.split("\n").map((l) => columns(l.slice(0, l.lastIndexOf(" ") + 1)));
    expect(new Set(starts).size).toBe(1);
  });

  test("the runs table aligns CJK and emoji names", () => {
    const base = {
      pipeline: "p",
      startedAt: 0,
      endedAt: 1000,
      status: "done",
      exitCode: 0,
      signal: null,
      processes: 3,
      command: ["x"],
    };
    const t = runsTable([
      { ...base, id: "aaaaaaaaaaaaaaaa", name: "データ解析" },
      { ...base, id: "bbbbbbbbbbbbbbbb", name: "🧬🧬 run" },
      { ...base, id: "cccccccccccccccc", name: "plain" },
    ] as RunRow[]).text;
    const rows = t.split("\n").slice(1);
    const at = rows.map((l) => columns(l.slice(0, l.indexOf("  p  "))));
    expect(rows.every((l) => l.includes("  p  "))).toBe(true);
    expect(new Set(at).size).toBe(1);
  });

  test("a column pushed past a narrow width by wide ones before it is named as left out, not lost silently", () => {
    const run = {
      id: "0123456789abcdef",
      name: "run-20261201T175933-78c686",
      pipeline: "p",
      startedAt: 0,
      endedAt: 1000,
      status: "done",
      exitCode: 0,
      signal: null,
      processes: 3,
      command: ["snakemake", "-j", "2"],
    } as RunRow;
    // ID and NAME take 43 columns: at 40 nothing after NAME starts on the line
    const narrow = runsTable([run], 40);
    for (const l of narrow.text.trimEnd().split("\n")) expect(columns(l)).toBeLessThanOrEqual(40);
    expect(narrow.text).not.toContain("snakemake");
    expect(narrow.leftOut).toEqual([
      "PIPELINE",
      "STARTED (UTC)",
      "WALL",
      "STATUS",
      "EXIT",
      "PROCS",
      "COMMAND",
    ]);
    // at 80 everything that is kept is shown
    const wide = runsTable([run], 80);
    expect(wide.text).toContain("snakemake -j 2");
    expect(wide.leftOut).not.toContain("COMMAND");
  });
});

describe("figures", () => {
  const proc = (id: number, o: Partial<StepProcess> = {}): StepProcess => ({
    id,
    pid: id,
    parentId: null,
    comm: "x",
    argv: ["x"],
    cwd: "/",
    startedAt: 1000,
    endedAt: 2000,
    exitCode: 0,
    signal: null,
    oomKilled: false,
    userUs: 1000,
    systemUs: 500,
    peakRssKb: 1024,
    rchar: 2048,
    wchar: 2048,
    readBytes: 4096,
    writeBytes: 4096,
    ...o,
  });
  const unknown = {
    userUs: null,
    systemUs: null,
    peakRssKb: null,
    rchar: null,
    wchar: null,
    readBytes: null,
    writeBytes: null,
  };
  const report = (procs: StepProcess[]) =>
    buildReport({
      run: { startedAt: 1000, endedAt: 2000 } as RunRow,
      processes: procs,
      steps: [],
      system: [],
    });

  test("unknown figures are '-' in totals, a sum with some unknown says '≥', never 0B", () => {
    const none = totalsLines(report([proc(1, unknown), proc(2, unknown)])).join("\n");
    expect(none).toStartWith(
      "totals    wall 1.000s, CPU -, peak memory -\nI/O       read - (disk -), written - (disk -)\n",
    );
    const some = totalsLines(report([proc(1), proc(2, unknown)])).join("\n");
    expect(some).toStartWith(
      "totals    wall 1.000s, CPU ≥2ms, peak memory ≥1.0MiB\nI/O       read ≥2.0KiB (disk ≥4.0KiB), written ≥2.0KiB (disk ≥4.0KiB)\n",
    );
    const all = totalsLines(report([proc(1), proc(2)])).join("\n");
    expect(all).toContain("CPU 3ms,");
    expect(all).toContain("read 4.0KiB (disk 8.0KiB)");
  });

  test("a step's row: '-' when none of its processes has a figure, '≥' when some lack it", () => {
    const rules = loadRules({ config: false });
    const a = proc(1, { ...unknown, argv: ["sort", "a"], comm: "sort" });
    const b = proc(2, { argv: ["gzip", "b"], comm: "gzip" });
    const c = proc(3, { ...unknown, argv: ["gzip", "-d"], comm: "gzip", parentId: 2, startedAt: 1001 });
    const procs = [a, b, c];
    const r = buildReport({
      run: { startedAt: 1000, endedAt: 2000, command: ["x"], name: "n", id: "i" } as RunRow,
      processes: procs,
      steps: groupSteps(procs, rules),
      system: [],
    });
    const rows = renderTable(r).split("\n");
    const sort = rows.find((l) => l.endsWith("  sort"))!;
    const gzip = rows.find((l) => l.endsWith("  gzip"))!;
    // CPU, PEAK RSS, READ, WRITE, DISK READ, DISK WRITE
    expect(sort.split(/ +/).slice(4, 10)).toEqual(["-", "-", "-", "-", "-", "-"]);
    // (the peak too: a process whose peak is unknown leaves no bound, as the totals say)
    expect(gzip.split(/ +/).slice(4, 10)).toEqual([
      "≥2ms",
      "≥1.0MiB",
      "≥2.0KiB",
      "≥2.0KiB",
      "≥4.0KiB",
      "≥4.0KiB",
    ]);
  });

  test("a step's wall is never shorter than its only process's exact lifetime", () => {
    // ms timestamps 1 ms apart, the exact (µs) lifetime 1.9 ms
    const p = { ...proc(1, { argv: ["sort", "-n", "f"], comm: "sort", endedAt: 1001 }), durationUs: 1900 };
    const [step] = groupSteps([p], loadRules({ config: false }));
    expect(step!.durationMs).toBeGreaterThanOrEqual(1.9);
  });

  test("CPU reads in ms under a second, seconds under an hour, hours beyond", () => {
    expect(cpuText(1500)).toBe("2ms");
    expect(cpuText(2_500_000)).toBe("2.500s");
    expect(cpuText(7.2e9)).toBe("2.00h");
    expect(cpuText(null)).toBe("-");
  });

  test("same-named steps are told apart by their ordinal; a unique name stays as it is", () => {
    expect(stepLabels([{ name: "sort" }, { name: "gzip" }, { name: "sort" }])).toEqual([
      "sort #1",
      "gzip",
      "sort #2",
    ]);
  });
});

describe("a narrow --width", () => {
  test("no line is wider than asked even when the columns before the last take more than it leaves", () => {
    const rows = [
      ["12345", "31.1MiB–34.7MiB", "1.234s", "a long command line that is cut"],
      ["1", "3.1MiB", "7ms", "short"],
    ];
    for (const width of [100, 40, 30, 20, 12, 5]) {
      let out = "";
      writeTable(
        ["PID", "PEAK RSS", "CPU", "COMMAND"],
        rows.length,
        (i) => rows[i]!,
        new Set([0, 1, 2]),
        (c) => {
          out += c;
        },
        width,
      );
      for (const l of out.trimEnd().split("\n")) expect(columns(l)).toBeLessThanOrEqual(width);
    }
    // wide enough: nothing is cut
    let out = "";
    writeTable(
      ["PID", "COMMAND"],
      1,
      () => ["1", "true"],
      new Set([0]),
      (c) => {
        out += c;
      },
      100,
    );
    expect(out).toBe("PID  COMMAND\n  1  true\n");
  });
});

describe("--output and --width", () => {
  test("a table written to a file takes --width when given (not the terminal's otherwise)", async () => {
    const env = isolatedEnv();
    expect(
      (await run(["run", "--quiet", "--name", "w", "--", "sh", "-c", "sleep 0.05; true"], { env })).code,
    ).toBe(0);
    const dir = tempDir();
    const narrow = join(dir, "narrow.txt");
    const wide = join(dir, "wide.txt");
    expect((await run(["report", "w", "-o", narrow, "--width", "60"], { env })).code).toBe(0);
    expect((await run(["report", "w", "-o", wide], { env })).code).toBe(0);
    const lines = readFileSync(narrow, "utf8").trimEnd().split("\n");
    for (const l of lines) expect(columns(l)).toBeLessThanOrEqual(60);
    expect(lines.join("\n")).toContain("not shown at this width:");
    expect(readFileSync(wide, "utf8")).toContain("DISK WRITE");
  }, 60_000);
});
