import { defineCommand } from "../_define.ts";
import { checkName } from "../../core/names.ts";
import { printJson, say } from "../../core/output.ts";
import { DaemonClient } from "../../daemon/client.ts";
import { jsonFlag, runFlags } from "../_shared.ts";
import { sanitize } from "../../core/sanitize.ts";

export default defineCommand({
  meta: { name: "start", description: "Begin a run in the running daemon" },
  args: { ...runFlags, ...jsonFlag },
  async run({ args }) {
    const run = await new DaemonClient().start(
      checkName(args.run, "--run"),
      checkName(args.pipeline, "--pipeline"),
    );
    if (args.json) return void printJson(run);
    say(sanitize(`run "${run.name}" (pipeline ${run.pipeline}) started, id ${run.id}`));
  },
});
