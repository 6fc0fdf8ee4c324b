import { defineCommand } from "../_define.ts";
import { paths } from "../../core/dirs.ts";
import { shownPath } from "../../core/trusted.ts";
import { write } from "../../core/output.ts";
import { follow, lastLines } from "../../core/tail.ts";
import { Exit, TracerError, errnoOf } from "../../errors.ts";
import { sanitizeLines } from "../../core/sanitize.ts";
import { wholeOption } from "../_numbers.ts";

export default defineCommand({
  meta: { name: "logs", description: "Print the daemon log" },
  args: {
    follow: { type: "boolean", alias: "f", description: "Keep printing what is appended (Ctrl-C to stop)" },
    lines: {
      type: "string",
      alias: "n",
      description: "How many last lines to print",
      default: "50",
      valueHint: "N",
    },
  },
  async run({ args }) {
    const n = wholeOption("-n", args.lines) ?? 50;
    const log = paths().log;
    let size = 0;
    try {
      const tail = lastLines(log, n);
      write(1, sanitizeLines(tail.text));
      size = tail.size;
    } catch (e) {
      if (errnoOf(e) !== "ENOENT" || !args.follow)
        throw new TracerError(
          "E_NO_LOG",
          `cannot read the daemon log ${shownPath(log)}: ${(e as Error).message}`,
          Exit.error,
          {
            hint:
              errnoOf(e) === "ENOENT" ? "the daemon has not run yet; start it with `tracer init`" : undefined,
          },
        );
    }
    if (!args.follow) return;
    const stop = new AbortController();
    process.once("SIGINT", () => stop.abort());
    process.once("SIGTERM", () => stop.abort());
    await follow(log, size, (s) => write(1, sanitizeLines(s)), stop.signal);
  },
});
