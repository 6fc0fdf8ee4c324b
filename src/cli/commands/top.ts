import { constants } from "node:os";
import { defineCommand } from "../_define.ts";
import { isTty, write } from "../../core/output.ts";
import { loadRules } from "../../rules/index.ts";
import { TopSession, render, settledSnapshot } from "../../top/index.ts";

export default defineCommand({
  meta: {
    name: "top",
    description:
      "Live view of the active runs (or RUN): running steps and processes, host CPU/memory; q quits",
  },
  args: {
    run: { type: "positional", required: false, description: "Run id, id prefix or name", valueHint: "RUN" },
    rules: {
      type: "string",
      description: "A rule file tried before the defaults (docs/RULES.md)",
      valueHint: "FILE",
    },
  },
  async run({ args }) {
    const rules = loadRules({ files: args.rules === undefined ? [] : [args.rules] });
    const session = new TopSession({ run: args.run, rules });
    try {
      // not a terminal: one snapshot, every running step's processes listed, no escape codes
      if (!isTty(1)) {
        const screen = render(await settledSnapshot(session), {
          sort: "cpu",
          expanded: "all",
          width: Number.POSITIVE_INFINITY,
          height: Number.POSITIVE_INFINITY,
          color: false,
          interactive: false,
        });
        return void write(1, `${screen.lines.join("\n")}\n`);
      }
      const { runLive } = await import("../../top/screen.ts");
      const signal = await runLive({
        poll: () => session.poll(),
        color: !process.env.NO_COLOR && process.env.TERM !== "dumb",
      });
      // ended by a signal, with the terminal restored: the status a shell gives a command it killed
      if (signal) process.exitCode = 128 + constants.signals[signal];
    } finally {
      session.close();
    }
  },
});
