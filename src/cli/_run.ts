/**
 * The CLI runner: resolves the command, answers --help / --version (citty renders usage), parses its
 * arguments strictly (./_args.ts), runs it, and turns errors into one clean line and a documented exit
 * code. Everything after `--` belongs to the user's command and is never inspected.
 */
import type { CommandDef } from "citty";
import { parseArgv } from "./_args.ts";
import { Exit, TracerError, errnoOf } from "../errors.ts";
import { dim, forFd, red, write } from "../core/output.ts";
import { VERSION } from "../version.ts";
import { sanitizeLines } from "../core/sanitize.ts";

// biome-ignore lint/suspicious/noExplicitAny: each command has its own argument types
export type AnyCommand = CommandDef<any>;
type Cmd = AnyCommand;
const resolve = async <T>(v: T | Promise<T> | (() => T | Promise<T>)): Promise<T> =>
  typeof v === "function" ? await (v as () => T | Promise<T>)() : await v;

const usageError = (message: string) => new TracerError("E_USAGE", message, Exit.usage);

async function resolveCommand(root: Cmd, head: string[]) {
  let cmd = root;
  let parent: Cmd | undefined;
  let used = 0;
  for (;;) {
    const subs = cmd.subCommands ? await resolve(cmd.subCommands) : undefined;
    const token = head[used];
    if (!subs || token === undefined || token.startsWith("-")) break;
    const sub = subs[token];
    if (!sub) {
      const known = Object.keys(subs).filter((k) => !k.startsWith("_"));
      throw usageError(`unknown command "${token}" (commands: ${known.join(", ")})`);
    }
    parent = cmd;
    cmd = await resolve(sub);
    used++;
  }
  return { cmd, parent, used };
}

/** citty renders --help; it (and node:util) loads only then. */
const usage = async (cmd: Cmd, parent?: Cmd) => (await import("citty")).renderUsage(cmd, parent);

export async function runCli(root: Cmd, argv: string[]): Promise<void> {
  const dd = argv.indexOf("--");
  const head = dd < 0 ? argv : argv.slice(0, dd);
  const verbose = head.includes("--verbose") || process.env.TRACER_DEBUG === "1";
  const rawArgs = verbose ? argv.filter((a, i) => a !== "--verbose" || (dd >= 0 && i > dd)) : argv;
  try {
    if (head.length === 1 && ["--version", "-v", "-V"].includes(head[0]!)) {
      write(1, `${VERSION}\n`);
      return;
    }
    const { cmd, parent, used } = await resolveCommand(
      root,
      head.filter((a) => a !== "--verbose"),
    );
    if (head.includes("--help") || head.includes("-h")) {
      write(1, `${forFd(await usage(cmd, parent), 1)}\n`);
      return;
    }
    if (!cmd.run) {
      write(2, `${forFd(await usage(cmd, parent), 2)}\n`);
      process.exitCode = Exit.usage;
      return;
    }
    const rest = rawArgs.slice(used);
    const args = parseArgv(cmd.args ? await resolve(cmd.args) : {}, rest);
    await cmd.run({ rawArgs: rest, args, cmd, data: undefined });
  } catch (e) {
    report(e, verbose);
  }
}

function report(e: unknown, verbose: boolean) {
  // the reader of our output went away (`tracer report | head`): nothing left to say to anyone
  if (errnoOf(e) === "EPIPE") return;
  if (e instanceof TracerError) {
    // a message may quote recorded data (a run name, a path): shown, never interpreted
    write(2, `${red("tracer:")} ${sanitizeLines(e.message)}\n`);
    if (e.hint) write(2, `${dim(`  hint: ${sanitizeLines(e.hint)}`)}\n`);
    process.exitCode = e.exitCode;
  } else {
    write(2, `${red("tracer:")} internal error: ${sanitizeLines(String((e as Error)?.message ?? e))}\n`);
    if (!verbose) write(2, `${dim("  run again with --verbose for details")}\n`);
    process.exitCode = Exit.error;
  }
  if (verbose && e instanceof Error) {
    for (let c: unknown = e; c instanceof Error; c = c.cause) write(2, `${dim(c.stack ?? c.message)}\n`);
  }
}
