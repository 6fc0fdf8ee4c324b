import { defineCommand } from "../_define.ts";
import { note, plain, printJson, say, write } from "../../core/output.ts";
import { writeReplacing } from "../../core/safe-write.ts";
import { Exit, TracerError } from "../../errors.ts";
import { pipelineHistory } from "../../insight/history.ts";
import { FORMATS, type Format, loadReport, loadRun, renderReport } from "../../report/index.ts";
import { writeProcessTable } from "../../run/format.ts";
import { loadRules } from "../../rules/index.ts";
import { findRun, listProcesses, openStore } from "../../store/index.ts";
import { jsonFlag } from "../_shared.ts";
import { sanitize } from "../../core/sanitize.ts";

function formatOf(v: string | undefined): Format {
  if (v === undefined) return "table";
  if ((FORMATS as readonly string[]).includes(v)) return v as Format;
  throw new TracerError("E_USAGE", `--format must be one of ${FORMATS.join(", ")}, got "${v}"`, Exit.usage);
}

function priceOf(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v.trim() === "" || !Number.isFinite(n) || n < 0)
    throw new TracerError("E_USAGE", `--price-per-hour must be a number ≥ 0, got "${v}"`, Exit.usage);
  return n;
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
      description: "Write the report to FILE instead of stdout",
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
  },
  run({ args }) {
    const format = formatOf(args.format);
    const price = priceOf(args["price-per-hour"]);
    const db = openStore(undefined, { readonly: true });
    if (args.json) {
      // the raw run and its processes (docs/CLI.md); --format json is the step report
      const run = findRun(db, args.run);
      return void printJson({ run, processes: listProcesses(db, run.id) });
    }
    const rules = loadRules({ files: args.rules === undefined ? [] : [args.rules] });
    if (format === "table" && args.output === undefined) {
      const { report, processes } = loadRun(db, args.run, rules, price);
      say(renderReport(report, "table"));
      say("processes");
      return void writeProcessTable(report.run, processes, (chunk) => write(1, chunk));
    }
    // the processes are needed only to build the steps: garbage before the rendering starts
    const report = loadReport(db, args.run, rules, price);
    if (format === "html") report.history = pipelineHistory(db, report, rules);
    const text = renderReport(report, format);
    if (args.output === undefined) return void write(1, text);
    // never through a symlink or another's hard link (exit 3); a file gets no colour codes
    writeReplacing(args.output, format === "table" ? plain(text) : text);
    note(sanitize(`tracer: wrote ${format} report of run ${report.run.name} to ${args.output}`));
  },
});
