/**
 * The CLI runner: resolves the command, answers --help / --version (citty renders usage), parses its
 * arguments strictly (./_args.ts), runs it, and turns errors into one clean line and a documented exit
 * code — or, under `--json`, into `{"error":{"code","message","hint"}}` on stdout (docs/CLI.md).
 * Global flags, taken out before the command parses its own: `--verbose`, `--color auto|always|never`.
 * `tracer help [COMMAND...]` and `tracer version` answer as `--help` and `--version` do.
 * Everything after `--` belongs to the user's command and is never inspected.
 */
import type { CommandDef } from "citty";
import { parseArgv } from "./_args.ts";
import { Exit, TracerError, errnoOf } from "../errors.ts";
import { type ColorMode, dim, forFd, printJson, red, setColor, write } from "../core/output.ts";
import { VERSION } from "../version.ts";
import { sanitizeLines } from "../core/sanitize.ts";

// biome-ignore lint/suspicious/noExplicitAny: each command has its own argument types
export type AnyCommand = CommandDef<any>;
type Cmd = AnyCommand;
export const resolve = async <T>(v: T | Promise<T> | (() => T | Promise<T>)): Promise<T> =>
  typeof v === "function" ? await (v as () => T | Promise<T>)() : await v;

const usageError = (message: string) => new TracerError("E_USAGE", message, Exit.usage);

async function resolveCommand(root: Cmd, head: string[]) {
  let cmd = root;
  let used = 0;
  for (;;) {
    const subs = cmd.subCommands ? await resolve(cmd.subCommands) : undefined;
    const token = head[used];
    if (!subs || token === undefined || token.startsWith("-")) break;
    // own properties only: `tracer help constructor` found Object.prototype's (attack)
    const sub = Object.hasOwn(subs, token) ? subs[token] : undefined;
    if (!sub) {
      const known = Object.keys(subs).filter((k) => !k.startsWith("_"));
      throw usageError(`unknown command ${JSON.stringify(token)} (commands: ${known.join(", ")})`);
    }
    cmd = await resolve(sub);
    used++;
  }
  return { cmd, used };
}

/** The usage a command that runs CMD after `--` states in its one-line description, e.g. "tracer run [OPTIONS]". */
export const dashedUsage = (description: string | undefined): string | undefined =>
  description?.match(/(tracer [a-z ]+?(?: \[[^\]]+\])*) -- CMD/)?.[1];

/** --help's text of `cmd`, which `words` name under `root` (./_help.ts: it and citty load only for --help). */
const usage = async (root: Cmd, cmd: Cmd, words: string[]) =>
  (await import("./_help.ts")).helpText(root, cmd, words);

const COLOR_MODES: readonly ColorMode[] = ["auto", "always", "never"];

/** Take the global flags out of the arguments before `--`; the rest is the command's. */
function globalFlags(argv: string[]) {
  const dd = argv.indexOf("--");
  const head = dd < 0 ? argv : argv.slice(0, dd);
  const kept: string[] = [];
  let verbose = false;
  let color: string | undefined;
  for (let i = 0; i < head.length; i++) {
    const a = head[i]!;
    if (a === "--verbose") verbose = true;
    else if (a === "--color") color = head[++i] ?? "";
    else if (a.startsWith("--color=")) color = a.slice(8);
    else kept.push(a);
  }
  return {
    head: kept,
    argv: dd < 0 ? kept : [...kept, ...argv.slice(dd)],
    verbose,
    color,
    json: kept.includes("--json"),
  };
}

/** The command a command line names (its first word once the global flags are out), if any. */
export const commandWord = (argv: string[]): string | undefined => globalFlags(argv).head[0];

export async function runCli(root: Cmd, argv: string[]): Promise<void> {
  const g = globalFlags(argv);
  const verbose = g.verbose || process.env.TRACER_DEBUG === "1";
  const { head, argv: rawArgs } = g;
  try {
    if (g.color !== undefined) {
      if (!(COLOR_MODES as string[]).includes(g.color))
        throw usageError(`--color must be one of ${COLOR_MODES.join(", ")}, got ${JSON.stringify(g.color)}`);
      setColor(g.color as ColorMode);
    }
    // `tracer version` and `tracer help [COMMAND...]` are words for --version and --help, not commands:
    // nothing in the table, nothing loaded but what the flags load
    if (head[0] === "version" && head.length > 1)
      throw usageError(`unexpected argument ${JSON.stringify(head[1])} (see --help)`);
    if (head.length === 1 && ["--version", "-v", "-V", "version"].includes(head[0]!)) {
      write(1, `${VERSION}\n`);
      return;
    }
    const help = head[0] === "help";
    // after `help`, options are ignored as --help ignores them
    const words = help ? head.slice(1).filter((t) => !t.startsWith("-")) : head;
    const { cmd, used } = await resolveCommand(root, words);
    if (help && used < words.length) {
      const named = ["tracer", ...words.slice(0, used)].join(" ");
      throw usageError(`unknown command ${JSON.stringify(words[used])} (${named} has no commands)`);
    }
    if (help || head.includes("--help") || head.includes("-h")) {
      // `tracer -h run`, `tracer --help net check`: the command the words name, wherever the flag is
      // (as `help` ignores options); a word that names none (an option's value) leaves the first answer
      let named = { cmd, used, words };
      if (!help) {
        const plain = head.filter((t) => !t.startsWith("-"));
        for (let k = plain.length; k > used; k--) {
          const deeper = await resolveCommand(root, plain.slice(0, k)).catch(() => undefined);
          if (deeper && deeper.used > used) {
            named = { ...deeper, words: plain };
            break;
          }
        }
      }
      write(1, `${forFd(await usage(root, named.cmd, named.words.slice(0, named.used)), 1)}\n`);
      return;
    }
    if (!cmd.run) {
      // `tracer --quiet run`: a command's options come after its words (only --verbose and --color are
      // global); say so, rather than call a real option unknown. Which of the tokens before a command
      // word are values (`--name report run`) only the command knows: no command line is suggested.
      // Each token as a JSON string: quoted, a newline in it shown as \n (no forged second line)
      const subs = cmd.subCommands ? await resolve(cmd.subCommands) : {};
      const word = (t: string) => Object.hasOwn(subs, t) || (used === 0 && (t === "help" || t === "version"));
      const at = head.findIndex((t, i) => i >= used && !t.startsWith("-") && word(t));
      if (at > used) {
        const opts = head
          .slice(used, at)
          .map((t) => JSON.stringify(t))
          .join(" ");
        throw usageError(
          `options go after the command's name: ${opts} came before ${JSON.stringify(head[at])} (only --verbose and --color go anywhere)`,
        );
      }
      // `tracer --bogus`: the option is the error, not the missing command
      const stray = head.slice(used).find((t) => t.startsWith("-") && t !== "--json");
      if (stray !== undefined) {
        const eq = stray.indexOf("=");
        throw usageError(
          `unknown option ${JSON.stringify(eq < 0 ? stray : stray.slice(0, eq))} (see --help)`,
        );
      }
      if (g.json) {
        const known = Object.keys(subs).filter((k) => !k.startsWith("_"));
        throw usageError(`missing command (commands: ${known.join(", ")})`);
      }
      write(2, `${forFd(await usage(root, cmd, head.slice(0, used)), 2)}\n`);
      process.exitCode = Exit.usage;
      return;
    }
    const rest = rawArgs.slice(used);
    // a command that runs CMD names it in its one-line description ("... tracer run [OPTIONS] -- CMD
    // ARGS..."): read only for a stray argument's hint (no regex at every start, issue 15)
    const meta = cmd.meta ? await resolve(cmd.meta) : undefined;
    const args = parseArgv(cmd.args ? await resolve(cmd.args) : {}, rest, () =>
      dashedUsage(meta?.description),
    );
    await cmd.run({ rawArgs: rest, args, cmd, data: undefined });
  } catch (e) {
    report(e, verbose, g.json);
  }
}

/** The `--json` form of an error (docs/CLI.md): on stdout, where the command's JSON would have been. */
export function errorJson(e: unknown) {
  const t = e instanceof TracerError ? e : undefined;
  return {
    error: {
      code: t?.code ?? "E_INTERNAL",
      message: t ? t.message : `internal error: ${(e as Error)?.message ?? String(e)}`,
      hint: t?.hint ?? null,
      ...t?.details,
    },
  };
}

function report(e: unknown, verbose: boolean, json: boolean) {
  // the reader of our output went away (`tracer report | head`): nothing left to say to anyone
  if (errnoOf(e) === "EPIPE") return;
  // the status first: a reader that leaves before the message is read must not turn it into 0
  process.exitCode = e instanceof TracerError ? e.exitCode : Exit.error;
  if (json) printJson(errorJson(e));
  else if (e instanceof TracerError) {
    // a message may quote recorded data (a run name, a path): shown, never interpreted
    write(2, `${red("tracer:")} ${sanitizeLines(e.message)}\n`);
    if (e.hint) write(2, `${dim(`  hint: ${sanitizeLines(e.hint)}`)}\n`);
  } else {
    write(2, `${red("tracer:")} internal error: ${sanitizeLines(String((e as Error)?.message ?? e))}\n`);
    if (!verbose) write(2, `${dim("  run again with --verbose for details")}\n`);
  }
  if (verbose && e instanceof Error) {
    // a stack starts with the message, which may quote recorded data: escaped like the message above
    for (let c: unknown = e; c instanceof Error; c = c.cause)
      write(2, `${dim(sanitizeLines(c.stack ?? c.message))}\n`);
  }
}
