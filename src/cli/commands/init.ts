import { defineCommand } from "../_define.ts";
import { dim, note, printJson, say } from "../../core/output.ts";
import { otlpForCommand } from "../../export/config.ts";
import { initDaemon } from "../../daemon/lifecycle.ts";
import { parseStrategy } from "../../spawn/index.ts";
import { jsonFlag, otlpFlags, runFlags } from "../_shared.ts";
import { sanitize } from "../../core/sanitize.ts";

export default defineCommand({
  meta: { name: "init", description: "Start the tracer daemon (and a run) and wait until it answers" },
  args: {
    ...runFlags,
    force: { type: "boolean", description: "Restart a daemon that is already running" },
    spawn: {
      type: "string",
      description: "Spawn strategy: auto, fd, proc-fd, verified (also TRACER_SPAWN)",
      valueHint: "STRATEGY",
    },
    ...otlpFlags,
    ...jsonFlag,
  },
  async run({ args }) {
    const strategy = parseStrategy(args.spawn ?? process.env.TRACER_SPAWN);
    // a bad endpoint fails here, before any daemon starts (exit 2 usage, 3 refused)
    const otlp = { endpoint: args["otlp-endpoint"], insecure: args["otlp-insecure"] };
    otlpForCommand(otlp, (l) => note(sanitize(`tracer: ${l}`)));
    const r = await initDaemon({ run: args.run, pipeline: args.pipeline, force: args.force, strategy, otlp });
    if (args.json)
      return void printJson({ ...r.info, cleanedStale: r.cleanedStale, replaced: r.replaced ?? null });
    if (r.replaced) say(dim(`stopped the previous daemon (pid ${r.replaced})`, 1));
    if (r.cleanedStale) say(dim("removed a stale socket left by a daemon that died", 1));
    say(`tracer daemon started (pid ${r.info.pid}, ${r.info.strategy} spawn)`);
    if (r.info.run) say(sanitize(`run "${r.info.run.name}" (pipeline ${r.info.run.pipeline}) is recording`));
    say(sanitize(`log: ${r.info.log}`));
  },
});
