import { defineCommand } from "../../_define.ts";
import { defaultOutboxPath, queuedForRuns } from "../../../export/outbox.ts";
import { sanitize } from "../../../core/sanitize.ts";
import { Exit, TracerError } from "../../../errors.ts";
import { type RunSummary, findRun, isActive, openStore, removeRuns } from "../../../store/index.ts";
import { jsonFlag } from "../../_shared.ts";
import { printRemoved } from "./_removed.ts";

export default defineCommand({
  meta: {
    name: "rm",
    description: "Remove runs and everything recorded under them (never a run being recorded)",
  },
  args: {
    ...jsonFlag,
    run: { type: "positional", description: "Run ids, id prefixes or names", valueHint: "RUN..." },
    "dry-run": { type: "boolean", description: "Say what would be removed; change nothing" },
  },
  run({ args }) {
    const refs = (args._ as string[]).filter((a, i, all) => all.indexOf(a) === i);
    const db = openStore();
    try {
      const chosen = new Map<string, RunSummary>();
      for (const ref of refs) {
        const r = findRun(db, ref);
        if (isActive(r))
          throw new TracerError(
            "E_RUN_ACTIVE",
            // a stored name may hold a line break (a store written before names were checked)
            sanitize(`run ${r.name} (${r.id}) is being recorded (pid ${r.recorderPid})`),
            Exit.error,
            {
              hint: "remove it once it has finished (tracer stop ends a daemon run)",
            },
          );
        chosen.set(r.id, r);
      }
      printRemoved(
        removeRuns(db, [...chosen.values()], {
          dryRun: args["dry-run"],
          queued: (ids) => queuedForRuns(defaultOutboxPath(), ids),
        }),
        args.json === true,
      );
    } finally {
      db.close();
    }
  },
});
