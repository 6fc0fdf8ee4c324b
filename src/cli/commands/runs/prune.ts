import { defineCommand } from "../../_define.ts";
import { parseDuration } from "../../../core/duration.ts";
import { defaultOutboxPath, queuedForRuns } from "../../../export/outbox.ts";
import { Exit, TracerError } from "../../../errors.ts";
import { listRuns, openStore, removeRuns, selectPrune } from "../../../store/index.ts";
import { jsonFlag } from "../../_shared.ts";
import { printRemoved } from "./_removed.ts";

const usage = (message: string) => new TracerError("E_USAGE", message, Exit.usage);

export default defineCommand({
  meta: {
    name: "prune",
    description:
      "Remove old runs: all but the newest N, or those older than a duration (never a run being recorded)",
  },
  args: {
    ...jsonFlag,
    keep: {
      type: "string",
      description: "Keep the newest N runs (of --pipeline when given)",
      valueHint: "N",
    },
    "older-than": {
      type: "string",
      description: "Remove runs started more than DUR ago: 90m, 12h, 30d, 2w, 1d12h",
      valueHint: "DUR",
    },
    pipeline: { type: "string", description: "Only runs of this pipeline", valueHint: "NAME" },
    "dry-run": { type: "boolean", description: "Say what would be removed; change nothing" },
  },
  run({ args }) {
    const keep = args.keep === undefined ? undefined : Number(args.keep);
    if (keep !== undefined && (!/^\d+$/.test(args.keep!) || !Number.isSafeInteger(keep)))
      throw usage(`--keep must be a whole number ≥ 0, got "${args.keep}"`);
    const olderThanMs = args["older-than"] === undefined ? undefined : parseDuration(args["older-than"]);
    if (args["older-than"] !== undefined && olderThanMs === undefined)
      throw usage(`--older-than must be a duration such as 90m, 12h, 30d, 2w, got "${args["older-than"]}"`);
    if (keep === undefined && olderThanMs === undefined)
      throw usage("say which runs to prune: --keep N and/or --older-than DUR (see --help)");
    const db = openStore();
    try {
      const { remove, active } = selectPrune(listRuns(db, -1), {
        keep,
        olderThanMs,
        pipeline: args.pipeline,
      });
      printRemoved(
        removeRuns(db, remove, {
          dryRun: args["dry-run"],
          skippedActive: active,
          queued: (ids) => queuedForRuns(defaultOutboxPath(), ids),
        }),
        args.json === true,
      );
    } finally {
      db.close();
    }
  },
});
