import { defineCommand } from "../_define.ts";
import { printJson, say } from "../../core/output.ts";
import { DaemonClient } from "../../daemon/client.ts";
import { jsonFlag } from "../_shared.ts";
import { sanitize } from "../../core/sanitize.ts";

export default defineCommand({
  meta: { name: "stop", description: "End the current run in the running daemon" },
  args: { ...jsonFlag },
  async run({ args }) {
    const run = await new DaemonClient().stop();
    if (args.json) return void printJson(run);
    say(sanitize(`run "${run.name}" stopped (id ${run.id})`));
  },
});
