import type { CommandDef } from "citty";
import { VERSION } from "../version.ts";
import { type AnyCommand, runCli } from "./_run.ts";

const load = (p: Promise<{ default: AnyCommand }>) => p.then((m) => m.default);

/** One file per command, loaded only when that command runs. */
export const commands = {
  init: () => load(import("./commands/init.ts")),
  info: () => load(import("./commands/info.ts")),
  start: () => load(import("./commands/start.ts")),
  stop: () => load(import("./commands/stop.ts")),
  terminate: () => load(import("./commands/terminate.ts")),
  logs: () => load(import("./commands/logs.ts")),
  doctor: () => load(import("./commands/doctor.ts")),
  net: () => load(import("./commands/net.ts")),
  run: () => load(import("./commands/run.ts")),
  runs: () => load(import("./commands/runs/index.ts")),
  report: () => load(import("./commands/report.ts")),
  top: () => load(import("./commands/top.ts")),
  diff: () => load(import("./commands/diff.ts")),
  advise: () => load(import("./commands/advise.ts")),
  rules: () => load(import("./commands/rules.ts")),
  verify: () => load(import("./commands/verify.ts")),
  install: () => load(import("./commands/install.ts")),
  update: () => load(import("./commands/update.ts")),
  uninstall: () => load(import("./commands/uninstall.ts")),
  __daemon: () => load(import("./commands/daemon.ts")),
} satisfies Record<string, () => Promise<AnyCommand>>;

export const root: CommandDef = {
  meta: { name: "tracer", version: VERSION, description: "See what your pipelines actually did" },
  subCommands: commands,
  // global flags, taken out by the runner (./_run.ts) before a command parses its own; listed for --help
  args: {
    color: {
      type: "string",
      description: "Colour: auto (a terminal without NO_COLOR), always, never",
      valueHint: "auto|always|never",
    },
    verbose: { type: "boolean", description: "Print an error's causes and stack" },
  },
};

export const main = (argv: string[]) => runCli(root, argv);
