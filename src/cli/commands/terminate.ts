import { defineCommand } from "../_define.ts";
import { printJson, say } from "../../core/output.ts";
import { terminateDaemon } from "../../daemon/lifecycle.ts";
import { jsonFlag } from "../_shared.ts";

export default defineCommand({
  meta: {
    name: "terminate",
    description: "Stop the daemon gracefully and wait until it is gone (never kills by port or name)",
  },
  args: { ...jsonFlag },
  async run({ args }) {
    const r = await terminateDaemon();
    if (args.json) return void printJson(r);
    if (r.wasRunning) say(`tracer daemon (pid ${r.pid}) stopped`);
    else if (r.cleanedStale) say("no daemon was running; removed the stale socket it left");
    else say("no daemon was running");
  },
});
