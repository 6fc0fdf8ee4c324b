import { defineCommand } from "../../_define.ts";
import { printJson, say } from "../../../core/output.ts";
import { runsTable } from "../../../run/format.ts";
import { defaultDbPath, listRuns, openStore, storeExists } from "../../../store/index.ts";
import { wholeOption } from "../../_numbers.ts";
import { jsonFlag } from "../../_shared.ts";

export default defineCommand({
  meta: { name: "runs", description: "List recorded runs, newest first" },
  args: {
    ...jsonFlag,
    limit: { type: "string", description: "How many runs (default 50)", valueHint: "N" },
  },
  run({ args }) {
    const limit = wholeOption("--limit", args.limit, { min: 1 }) ?? 50;
    const path = defaultDbPath();
    const runs = storeExists(path) ? listRuns(openStore(path, { readonly: true }), limit) : [];
    if (args.json) return void printJson(runs);
    if (!runs.length) return void say("no runs recorded yet (tracer run -- CMD)");
    say(runsTable(runs));
  },
});
