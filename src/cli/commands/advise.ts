import { defineCommand } from "../_define.ts";
import { printJson, write } from "../../core/output.ts";
import { sanitize } from "../../core/sanitize.ts";
import { Exit, TracerError } from "../../errors.ts";
import { Adviser } from "../../insight/advise.ts";
import { renderAdviceTable, renderNextflow, renderSnakemake } from "../../insight/advise-format.ts";
import { nextflowRequest } from "../../insight/_requests.ts";
import { SnakemakeRules } from "../../insight/_snakemake.ts";
import { adviseRuns } from "../../insight/history.ts";
import { loadRules } from "../../rules/index.ts";
import { listRuns, openStore, pipelineRuns } from "../../store/index.ts";
import { wholeOption } from "../_numbers.ts";
import { widthFlag, widthOf } from "../_shared.ts";

const FORMATS = ["table", "json", "nextflow", "snakemake"] as const;

export default defineCommand({
  meta: {
    name: "advise",
    description: "Suggest memory, cpus and time per step from a pipeline's last runs",
  },
  args: {
    pipeline: {
      type: "string",
      description: "The pipeline (default: the newest run's)",
      valueHint: "NAME",
    },
    last: {
      type: "string",
      description: "How many of its newest ended runs that recorded a process (default 10)",
      valueHint: "N",
    },
    format: { type: "string", description: `Output: ${FORMATS.join(" | ")}`, valueHint: "FORMAT" },
    rules: {
      type: "string",
      description: "A rule file tried before the defaults (docs/RULES.md)",
      valueHint: "FILE",
    },
    ...widthFlag,
  },
  run({ args }) {
    const format = args.format ?? "table";
    if (!(FORMATS as readonly string[]).includes(format))
      throw new TracerError(
        "E_USAGE",
        `--format must be one of ${FORMATS.join(", ")}, got "${format}"`,
        Exit.usage,
      );
    const last = wholeOption("--last", args.last, { min: 1 }) ?? 10;
    const width = widthOf(args.width);
    const db = openStore(undefined, { readonly: true });
    const pipeline = args.pipeline ?? listRuns(db, 1)[0]?.pipeline;
    if (pipeline === undefined) throw new TracerError("E_RUN_NOT_FOUND", "no run recorded yet");
    // ended runs that recorded something: a CMD that could not start adds no step, only a count that
    // made the advice look better founded than it was
    const runs = pipelineRuns(db, pipeline, last, { recorded: true });
    if (!runs.length)
      throw new TracerError(
        "E_RUN_NOT_FOUND",
        sanitize(`no finished run of pipeline "${pipeline}"`),
        Exit.error,
        {
          hint: "list runs with: tracer runs",
        },
      );
    const rules = loadRules({ files: args.rules === undefined ? [] : [args.rules] });
    const adviser = new Adviser(
      pipeline,
      // Snakemake's rules: the jobs' own command lines and the metadata in each run's working directory
      new SnakemakeRules(),
      // a Nextflow task's scheduler header; Snakemake's metadata records no resources
      (_, step) =>
        step.kind === "nextflow-task" && step.workdir ? nextflowRequest(step.workdir) : undefined,
    );
    // one run's report at a time (each can hold 100,000 processes' steps): folded, then garbage
    const advice = adviseRuns(db, adviser, runs, rules);
    if (format === "json") return void printJson(advice);
    const text =
      format === "nextflow"
        ? renderNextflow(advice)
        : format === "snakemake"
          ? renderSnakemake(advice)
          : `${renderAdviceTable(advice, width)}\n`;
    write(1, text);
  },
});
