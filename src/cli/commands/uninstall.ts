import { defineCommand } from "../_define.ts";
import { printJson, say } from "../../core/output.ts";
import { uninstallTracer } from "../../install/flow.ts";
import { jsonFlag } from "../_shared.ts";

export default defineCommand({
  meta: {
    name: "uninstall",
    description: "Stop the daemon and remove tracer from /usr/local/bin (never touches shell rc files)",
  },
  args: {
    purge: { type: "boolean", description: "Also remove tracer's state and runtime directories" },
    ...jsonFlag,
  },
  async run({ args }) {
    const r = await uninstallTracer({ purge: args.purge });
    if (args.json) return void printJson(r);
    if (r.stoppedDaemon) say(`stopped the daemon (pid ${r.stoppedDaemon})`);
    for (const p of [...r.removed, ...r.purged]) say(`removed ${p}`);
    if (!r.removed.length) say("tracer was not installed in /usr/local/bin");
  },
});
