import { defineCommand } from "../_define.ts";
import { decimalOption } from "../_numbers.ts";
import { checkName } from "../../core/names.ts";
import { note } from "../../core/output.ts";
import { Exit, TracerError } from "../../errors.ts";
import { otlpRequested } from "../../export/_requested.ts";
import { otlpFlags } from "../_shared.ts";
import { parseMode } from "../../observe/sources.ts";
import { traceRun } from "../../run/index.ts";
import { summaryLine } from "../../run/format.ts";
import { parseSignal } from "../../run/signals.ts";
import { exactArgs } from "../../run/own.ts";
import { NotRunnable } from "../../run/supervisor.ts";
import { sanitize, sanitizeLines } from "../../core/sanitize.ts";
import { mark } from "../../core/timing.ts";

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
    // one short line: `tracer --help` pads every command's row to the longest description
    description:
      "Run CMD as an init, record its whole process tree, exit with its status: tracer run [OPTIONS] -- CMD ARGS...",
  },
  args: {
    name: { type: "string", description: "Name of the run", valueHint: "NAME" },
    pipeline: { type: "string", description: "Name of the pipeline the run belongs to", valueHint: "NAME" },
    quiet: { type: "boolean", alias: "q", description: "No summary on stderr at the end" },
    interval: { type: "string", description: "Sampling interval in seconds (default 1)", valueHint: "S" },
    "signal-group": {
      type: "boolean",
      alias: "g",
      description:
        "Run CMD in a process group of its own (given the terminal) and forward signals to the whole group, like tini -g",
    },
    "kill-leftovers": {
      type: "boolean",
      description:
        "When CMD exits, SIGTERM what is left of its tree, then SIGKILL after --grace; their ends are recorded",
    },
    grace: {
      type: "string",
      description: "Seconds between SIGTERM and SIGKILL for --kill-leftovers (default 10)",
      valueHint: "S",
    },
    pdeathsig: {
      type: "string",
      description:
        "Signal CMD gets if tracer itself dies (PR_SET_PDEATHSIG for CMD; tini -p sets it for tini)",
      valueHint: "SIGNAL",
    },
    ...otlpFlags,
  },
  async run({ args, rawArgs }) {
    mark("run command");
    const dd = rawArgs.indexOf("--");
    // CMD's arguments as given: bytes that are not UTF-8 kept (Bun's argv has U+FFFD for them)
    const cmd = exactArgs(dd < 0 ? [] : rawArgs.slice(dd + 1));
    if (!cmd.length)
      throw new TracerError("E_USAGE", "no command to run", Exit.usage, {
        hint: "tracer run -- CMD ARGS...",
      });
    const seconds = "a number of seconds";
    const interval = decimalOption("--interval", args.interval, { min: 0.05, max: 3600, what: seconds }) ?? 1;
    const grace = decimalOption("--grace", args.grace, { max: 86400, what: seconds }) ?? 10;
    if (args.grace !== undefined && !args["kill-leftovers"])
      throw new TracerError("E_USAGE", "--grace applies only with --kill-leftovers", Exit.usage, {
        hint: "tracer run --kill-leftovers --grace S -- CMD",
      });
    const pdeathsig = args.pdeathsig === undefined ? undefined : parseSignal(args.pdeathsig);
    if (args.pdeathsig !== undefined && pdeathsig === undefined)
      throw new TracerError("E_USAGE", `--pdeathsig: unknown signal "${args.pdeathsig}"`, Exit.usage);
    // A bad endpoint fails before the command runs (exit 2 usage, 3 refused).
    // the OTLP configuration (and the URL checks it loads) only when export is asked for
    const flags = { endpoint: args["otlp-endpoint"], insecure: args["otlp-insecure"] };
    const otlp = otlpRequested(flags)
      ? (await import("../../export/config.ts")).otlpForCommand(flags, (l) => note(sanitize(`tracer: ${l}`)))
      : undefined;
    // traceRun leaves its signal pipe's reader to the exit (TraceOptions.exitAfter): once it has returned,
    // tracer exits as soon as this command is done, its errors reported (src/cli/_run.ts) first
    let returned = false;
    try {
      const r = await traceRun({
        cmd,
        name: checkName(args.name, "--name"),
        pipeline: checkName(args.pipeline, "--pipeline"),
        intervalMs: interval * 1000,
        mode: parseMode(process.env.TRACER_CAPTURE),
        receiveBufferBytes: rcvbuf(process.env.TRACER_NETLINK_RCVBUF),
        signalGroup: args["signal-group"],
        killLeftoversAfterMs: args["kill-leftovers"] ? grace * 1000 : undefined,
        pdeathsig,
        exitAfter: true,
      });
      returned = true;
      if (!args.quiet) note(summaryLine(r));
      process.exitCode = r.child.status;
      if (otlp) {
        const { exportStoredRun, summaryLine: exportLine } = await import("../../export/from-store.ts");
        const x = await exportStoredRun(r.runId, otlp);
        if (!args.quiet) for (const l of [...x.lines, exportLine(x)]) note(sanitize(`tracer: ${l}`));
      }
    } catch (e) {
      if (!(e instanceof NotRunnable)) throw e;
      note(`tracer: ${sanitizeLines(e.message)}`);
      process.exitCode = e.status;
    } finally {
      // after the microtasks that report an error and set the exit code
      if (returned) setImmediate(() => process.exit());
    }
  },
});
