/** `tracer runs`: list runs (the default), remove and prune them. One file per subcommand. */
import type { AnyCommand } from "../../_run.ts";
import list from "./list.ts";

const load = (p: Promise<{ default: AnyCommand }>) => p.then((m) => m.default);

export default {
  ...list,
  meta: { name: "runs", description: "List recorded runs, newest first; remove (rm) or prune them" },
  subCommands: {
    list: () => ({ ...list, meta: { ...list.meta, name: "list" } }),
    rm: () => load(import("./rm.ts")),
    prune: () => load(import("./prune.ts")),
  },
} satisfies AnyCommand;
