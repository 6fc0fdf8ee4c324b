import { defineCommand } from "../_define.ts";
import { note, plain, say, write } from "../../core/output.ts";
import { jsonText } from "../../core/json.ts";
import { writeReplacing } from "../../core/safe-write.ts";
import { Exit, TracerError } from "../../errors.ts";
import { pipelineHistory } from "../../insight/history.ts";
import { FORMATS, type Format, loadReport, loadRun, renderReport, writeReport } from "../../report/index.ts";
import { stepLabels } from "../../report/_labels.ts";
import { writeRawJson } from "../../report/raw.ts";
import { writeReportTable } from "../../report/table.ts";
import { wrapText } from "../../run/table.ts";
import { type ProcessTableOptions, STEPS_MODE_ROWS, writeProcessTable } from "../../run/proctable.ts";
import { loadRules } from "../../rules/index.ts";
import { findRun, listProcesses, openStore } from "../../store/index.ts";
import { bad, decimalOption, wholeOption } from "../_numbers.ts";
import { jsonFlag, widthFlag, widthOf } from "../_shared.ts";
import { sanitize } from "../../core/sanitize.ts";
import { mark } from "../../core/timing.ts";
import { plural } from "../../core/plural.ts";

function formatOf(v: string | undefined): Format {
  if (v === undefined) return "table";
  if ((FORMATS as readonly string[]).includes(v)) return v as Format;
  throw new TracerError("E_USAGE", `--format must be one of ${FORMATS.join(", ")}, got "${v}"`, Exit.usage);
}

/** options of the step report, meaningless for --json's raw rows */
const STEP_REPORT_OPTIONS = ["price-per-hour", "rules", "processes", "depth", "width"] as const;

/** processes from which a report's heap is collected between building and rendering it (not the table's) */
const COLLECT_FROM = 10_000;

/** The most --price-per-hour may be: past it a cost is no estimate but a typo (and 1e308 overflowed to Infinity). */
const MAX_PRICE_PER_HOUR = 1e6;

const priceOf = (v: string | undefined) => decimalOption("--price-per-hour", v, { max: MAX_PRICE_PER_HOUR });

const countOf = (flag: string, v: string | undefined) => wholeOption(`--${flag}`, v);

/** --processes all | steps | N: steps (folded, at most STEPS_MODE_ROWS rows) when not given. */
function processesOf(v: string | undefined): Pick<ProcessTableOptions, "processes" | "limit"> {
  if (v === undefined) return { processes: "steps", limit: STEPS_MODE_ROWS };
  if (v === "all" || v === "steps") return { processes: v };
  if (!/^\s*\d+\s*$/.test(v)) throw bad("--processes", "all, steps or a whole number ≥ 0", v);
  const n = countOf("processes", v);
  if (n === undefined) return {};
  return { processes: n };
}

export default defineCommand({
  meta: {
    name: "report",
    description: "Report a run's steps and totals (default: the newest run, as a table)",
  },
  args: {
    ...jsonFlag,
    run: { type: "positional", required: false, description: "Run id, id prefix or name", valueHint: "RUN" },
    format: { type: "string", description: `Output format: ${FORMATS.join(" | ")}`, valueHint: "FORMAT" },
    output: {
      type: "string",
      alias: "o",
      description: "Write the report to FILE instead of stdout (- for stdout)",
      valueHint: "FILE",
    },
    "price-per-hour": {
      type: "string",
      description: "Estimate the cost at this price per hour of wall time",
      valueHint: "PRICE",
    },
    rules: {
      type: "string",
      description: "A rule file tried before the defaults (docs/RULES.md)",
      valueHint: "FILE",
    },
    processes: {
      type: "string",
      description: "Process table: steps (each step folded into one row; default) | all | N (at most N rows)",
      valueHint: "all|steps|N",
    },
    depth: {
      type: "string",
      description: "Process table: show processes down to this tree depth",
      valueHint: "N",
    },
    ...widthFlag,
  },
  run({ args }) {
    // `-o -`: stdout, as the convention goes (not a file named '-')
    const output = args.output === "-" ? undefined : args.output;
    // before any work: an empty name resolved to the working directory ("cannot write : it is a directory")
    if (output === "")
      throw new TracerError("E_USAGE", "--output needs a file name (it was empty)", Exit.usage, {
        hint: "name a file, e.g. -o report.html, or -o - for stdout",
      });
    const format = formatOf(args.format);
    if (args.json && args.format !== undefined)
      throw new TracerError(
        "E_USAGE",
        `--json (the raw run and its processes) and --format ${format} (the step report) exclude each other`,
        Exit.usage,
        { hint: "the step report as JSON: tracer report --format json" },
      );
    // the raw rows have no steps, costs or table: an option for those would be silently ignored
    const stepOnly = STEP_REPORT_OPTIONS.filter((o) => args[o] !== undefined);
    if (args.json && stepOnly.length)
      throw new TracerError(
        "E_USAGE",
        `--json prints the raw run and its processes: ${stepOnly.map((o) => `--${o}`).join(", ")} ${stepOnly.length > 1 ? "apply" : "applies"} to the step report only`,
        Exit.usage,
        { hint: "the step report as JSON: tracer report --format json" },
      );
    const price = priceOf(args["price-per-hour"]);
    const db = openStore(undefined, { readonly: true });
    // one read snapshot for the whole report: the rows it groups and the command lines it reads again
    // by id to name and print (src/steps/_columns.ts) are then of one moment, though the run is still
    // being recorded (a process that exec'd between the two was named by one line, shown with another)
    db.exec("BEGIN");
    try {
      if (args.json) {
        // the raw run and its processes (docs/CLI.md); --format json is the step report
        const run = findRun(db, args.run);
        if (output === undefined) return void writeRawJson(db, run, (chunk) => write(1, chunk));
        writeReplacing(output, `${jsonText({ run, processes: listProcesses(db, run.id) })}\n`);
        return void note(sanitize(`tracer: wrote the raw JSON of run ${run.name} to ${output}`));
      }
      const table: ProcessTableOptions = {
        ...processesOf(args.processes),
        depth: countOf("depth", args.depth),
        width: widthOf(args.width),
      };
      const rules = loadRules({ files: args.rules === undefined ? [] : [args.rules] });
      mark("report: rules loaded");
      if (format === "table" && output === undefined) {
        // no full collection before the tables, unlike the other formats: the table's time is what its
        // target misses, its memory is well inside (100,000 processes, 4 trials of 8–10 alternated runs:
        // CPU −50 to −170 ms median, wall −30 to −185 ms; peak RSS 128 → 137 MB, bound 200 MB; 2026-11-30)
        const { report, processes } = loadRun(db, args.run, rules, price);
        const labels = stepLabels(report.steps);
        writeReportTable(report, (chunk) => write(1, chunk), table.width, labels);
        mark("report: step table written");
        // nothing recorded (CMD could not be run): the step table said so, no empty table under it
        if (report.totals.processes === 0) return;
        say("\nprocesses");
        const { listed, total } = writeProcessTable(report.run, processes, (chunk) => write(1, chunk), {
          ...table,
          steps: report.steps,
          labels,
        });
        mark("report: process table written");
        if (listed < total)
          say(
            wrapText(
              `${listed} of ${plural(total, "process", "processes")} listed${table.processes === "steps" ? ", each step in one row" : ""}: ${moreHint(table)}`,
              table.width,
            ),
          );
        return;
      }
      // the processes (their columns) are needed only to build the steps: garbage before the rendering
      // starts, and collected then on a large run, so the rendering reuses their memory instead of
      // growing the heap past it (~20 ms at 100,000 processes; a small run's report would only pay it)
      const report = loadReport(db, args.run, rules, price, format === "html");
      if (report.totals.processes >= COLLECT_FROM) Bun.gc(true);
      if (format === "html") report.history = pipelineHistory(db, report, rules);
      if (output === undefined) {
        writeReport(report, format, (chunk) => write(1, chunk));
        return void mark(`report: ${format} written`);
      }
      // a file is not the terminal: its width only when asked for with --width
      const text = renderReport(
        report,
        format,
        args.width === undefined ? Number.POSITIVE_INFINITY : table.width,
      );
      // never through a symlink or another's hard link (exit 3); a file gets no colour codes
      writeReplacing(output, format === "table" ? plain(text) : text);
      note(sanitize(`tracer: wrote ${format} report of run ${report.run.name} to ${output}`));
    } finally {
      if (db.inTransaction) db.exec("COMMIT");
    }
  },
});

/** what lists the processes a table left out: --processes all unless given, a larger --depth when one cut it */
function moreHint(t: ProcessTableOptions): string {
  const all = t.processes === "all";
  const deep = t.depth !== undefined && Number.isFinite(t.depth);
  if (all && deep) return "a larger --depth lists deeper ones";
  return deep ? "--processes all and a larger --depth list every one" : "--processes all lists every one";
}
