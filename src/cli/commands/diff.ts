import { defineCommand } from "../_define.ts";
import { note, printJson, say } from "../../core/output.ts";
import { sanitize } from "../../core/sanitize.ts";
import { Exit } from "../../errors.ts";
import { type RunSide, diffSides, nothingCompared, regressions, runSide } from "../../insight/diff.ts";
import { renderDiff } from "../../insight/diff-text.ts";
import { eachReport } from "../../insight/history.ts";
import { loadRules } from "../../rules/index.ts";
import { findRun, openStore } from "../../store/index.ts";
import { decimalOption } from "../_numbers.ts";
import { jsonFlag, widthFlag, widthOf } from "../_shared.ts";

/** A percentage option: 0 to 1,000,000 % (a change of 10,000×; beyond it a threshold is a typo). */
const pctOf = (flag: string, v: string | undefined) =>
  decimalOption(`--${flag}`, v, { max: 1e6, what: "a percentage" });

export default defineCommand({
  meta: { name: "diff", description: "Compare two runs step by step (matched by step key)" },
  args: {
    ...jsonFlag,
    a: {
      type: "positional",
      required: true,
      description: "The earlier run: id, id prefix or name",
      valueHint: "RUN_A",
    },
    b: { type: "positional", required: true, description: "The later run", valueHint: "RUN_B" },
    threshold: {
      type: "string",
      description:
        "Hide steps whose every change is below PCT % or below 50 ms / 1 MiB (status changes always show)",
      valueHint: "PCT",
    },
    "fail-on-regression": {
      type: "string",
      description: `Exit ${Exit.regression} when a step's wall, CPU or peak RSS grew by more than PCT %, a step newly failed or failed only in B, or the run newly failed or was aborted; else exit ${Exit.nothingCompared} when no step matched`,
      valueHint: "PCT",
    },
    rules: {
      type: "string",
      description: "A rule file tried before the defaults (docs/RULES.md)",
      valueHint: "FILE",
    },
    ...widthFlag,
  },
  run({ args }) {
    const threshold = pctOf("threshold", args.threshold) ?? 0;
    const limit = pctOf("fail-on-regression", args["fail-on-regression"]);
    const width = widthOf(args.width);
    const db = openStore(undefined, { readonly: true });
    const rules = loadRules({ files: args.rules === undefined ? [] : [args.rules] });
    // one run's report at a time, each kept only as what the diff reads of it (runSide)
    const sides: RunSide[] = [];
    eachReport(db, [findRun(db, args.a), findRun(db, args.b)], rules, (r) => sides.push(runSide(r)));
    const [a, b] = sides as [RunSide, RunSide];
    const d = diffSides(a, b, threshold);
    // the gate's verdict before any output: a reader that leaves early (`| head`) keeps its exit status
    // What is known to be worse needs no matched step (the run failed, a step only in B failed): a
    // regression, exit 7, even when nothing else could be compared. A gate that compared no step and
    // found nothing worse must not pass: said, with its own exit code (not a regression); said too
    // beside regressions, as the steps' figures went unchecked.
    const found = limit === undefined ? [] : regressions(threshold > 0 ? diffSides(a, b) : d, limit);
    const none = limit === undefined ? undefined : nothingCompared(d, found.length > 0);
    if (found.length) process.exitCode = Exit.regression;
    else if (none) process.exitCode = Exit.nothingCompared;
    if (args.json) printJson(d);
    else say(renderDiff(d, width));
    for (const r of found) note(sanitize(`tracer: regression: ${r}`));
    if (none) {
      note(sanitize(`tracer: ${none.message}`));
      note(sanitize(`  hint: ${none.hint}`));
    }
  },
});
