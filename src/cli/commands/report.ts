import { defineCommand } from "citty";
import { printJson, say } from "../../core/output.ts";
import { processTable, runHeader } from "../../run/format.ts";
import { findRun, listProcesses, openStore } from "../../store/index.ts";
import { jsonFlag } from "../_shared.ts";

export default defineCommand({
  meta: { name: "report", description: "Show a run's processes (default: the newest run)" },
  args: {
    ...jsonFlag,
    run: { type: "positional", required: false, description: "Run id, id prefix or name", valueHint: "RUN" },
  },
  run({ args }) {
    const db = openStore(undefined, { readonly: true });
    const run = findRun(db, args.run);
    const processes = listProcesses(db, run.id);
    if (args.json) return void printJson({ run, processes });
    say(runHeader(run));
    say("");
    say(processTable(run, processes));
  },
});
