import { defineCommand } from "../../_define.ts";
import { note, printJson, say } from "../../../core/output.ts";
import { runsTable } from "../../../run/format.ts";
import { hiddenNote, wrapText } from "../../../run/table.ts";
import { countRuns, defaultDbPath, listRuns, openStore, storeExists } from "../../../store/index.ts";
import { wholeOption } from "../../_numbers.ts";
import { jsonFlag, widthFlag, widthOf } from "../../_shared.ts";

/** runs listed when --limit is not given */
const DEFAULT_LIMIT = 50;

export default defineCommand({
  meta: { name: "runs", description: "List recorded runs, newest first" },
  args: {
    ...jsonFlag,
    limit: {
      type: "string",
      description: `How many runs, newest first (default ${DEFAULT_LIMIT})`,
      valueHint: "N",
    },
    ...widthFlag,
  },
  run({ args }) {
    const limit = wholeOption("--limit", args.limit, { min: 1 }) ?? DEFAULT_LIMIT;
    const width = widthOf(args.width);
    const path = defaultDbPath();
    const db = storeExists(path) ? openStore(path, { readonly: true }) : undefined;
    const runs = db ? listRuns(db, limit) : [];
    // --json stays an array (the newest `limit` runs, docs/CLI.md); the table says what it left out
    if (args.json) return void printJson(runs);
    if (!runs.length) return void say("no runs recorded yet (tracer run -- CMD)");
    const { text, leftOut } = runsTable(runs, width);
    say(text);
    const older = db && runs.length === limit ? countRuns(db) - runs.length : 0;
    // notes on stderr: `tracer runs | tail -n +2 | awk '{print $1}'` gets run ids only
    if (leftOut.length) note(hiddenNote(leftOut, width, "--width or --json").trimEnd());
    if (older > 0)
      note(
        wrapText(
          `… ${older} older ${older === 1 ? "run" : "runs"} not shown (tracer runs --limit ${runs.length + older} lists every run)`,
          width,
        ),
      );
  },
});
