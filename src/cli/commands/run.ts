import { defineCommand } from "../_define.ts";
import { note, red } from "../../core/output.ts";
import { Exit, TracerError } from "../../errors.ts";
import { otlpForCommand } from "../../export/config.ts";
import { otlpFlags } from "../_shared.ts";
import { parseMode } from "../../observe/sources.ts";
import { traceRun } from "../../run/index.ts";
import { exitText, seconds } from "../../run/format.ts";
import { NotRunnable } from "../../run/supervisor.ts";

/** TRACER_NETLINK_RCVBUF=BYTES: the netlink receive buffer to ask for (tests force loss with a tiny one). */
function rcvbuf(v: string | undefined): number | undefined {
  if (v === undefined || v === "") return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1)
    throw new TracerError(
      "E_USAGE",
      `TRACER_NETLINK_RCVBUF must be a positive integer, got "${v}"`,
      Exit.usage,
    );
  return n;
}

export default defineCommand({
  meta: {
    name: "run",
    description:
      "Run CMD and record its whole process tree: tracer run [--name N] [--pipeline P] -- CMD ARGS...",
  },
  args: {
    name: { type: "string", description: "Name of the run", valueHint: "NAME" },
    pipeline: { type: "string", description: "Name of the pipeline the run belongs to", valueHint: "NAME" },
    quiet: { type: "boolean", alias: "q", description: "No summary on stderr at the end" },
    interval: { type: "string", description: "Sampling interval in seconds (default 1)", valueHint: "S" },
    ...otlpFlags,
  },
  async run({ args, rawArgs }) {
    const dd = rawArgs.indexOf("--");
    const cmd = dd < 0 ? [] : rawArgs.slice(dd + 1);
    if (!cmd.length)
      throw new TracerError("E_USAGE", "no command to run", Exit.usage, {
        hint: "tracer run -- CMD ARGS...",
      });
    const interval = args.interval === undefined ? 1 : Number(args.interval);
    if (!(interval >= 0.05 && interval <= 3600))
      throw new TracerError(
        "E_USAGE",
        `--interval must be between 0.05 and 3600 seconds, got "${args.interval}"`,
        Exit.usage,
      );
    // A bad endpoint fails before the command runs (exit 2 usage, 3 refused).
    const otlp = otlpForCommand({ endpoint: args["otlp-endpoint"], insecure: args["otlp-insecure"] }, (l) =>
      note(`tracer: ${l}`),
    );
    try {
      const r = await traceRun({
        cmd,
        name: args.name,
        pipeline: args.pipeline,
        intervalMs: interval * 1000,
        mode: parseMode(process.env.TRACER_CAPTURE),
        receiveBufferBytes: rcvbuf(process.env.TRACER_NETLINK_RCVBUF),
      });
      if (!args.quiet) {
        const wall = seconds((r.child.endedAt - r.child.startedAt) * 1000);
        const loss = r.lost ? `, ${r.lost} events LOST` : "";
        note(
          `tracer: run ${r.name}: ${r.processes} processes, ${wall}, exit ${r.child.status === 0 ? "0" : red(exitText(r.child.exitCode, r.child.signal))}, capture ${r.mode}${loss} (tracer report ${r.runId.slice(0, 13)})`,
        );
      }
      process.exitCode = r.child.status;
      if (otlp) {
        const { exportStoredRun, summaryLine } = await import("../../export/from-store.ts");
        const x = await exportStoredRun(r.runId, otlp);
        if (!args.quiet) for (const l of [...x.lines, summaryLine(x)]) note(`tracer: ${l}`);
      }
    } catch (e) {
      if (!(e instanceof NotRunnable)) throw e;
      note(`tracer: ${e.message}`);
      process.exitCode = e.status;
    }
  },
});
