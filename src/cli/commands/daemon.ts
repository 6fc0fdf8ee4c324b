import { defineCommand } from "../_define.ts";
import { runDaemon } from "../../daemon/server.ts";
import { otlpFlags, runFlags } from "../_shared.ts";

/** Internal: the daemon itself. Started by `tracer init`, never by hand. */
export default defineCommand({
  meta: { name: "__daemon", description: "(internal) run as the daemon", hidden: true },
  args: { ...runFlags, ...otlpFlags },
  async run({ args }) {
    await runDaemon({
      strategy: process.env.TRACER_SPAWNED_BY ?? "manual",
      run: args.run,
      pipeline: args.pipeline,
      otlp: { endpoint: args["otlp-endpoint"], insecure: args["otlp-insecure"] },
    });
  },
});
