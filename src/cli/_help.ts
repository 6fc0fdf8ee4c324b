/**
 * --help's text. citty renders it — citty (and node:util) load only here, and this module only for
 * --help: never on a command's path (`tracer run`'s start-up, issue 15) — and we mend its layout:
 * - rows (ARGUMENTS, OPTIONS, GLOBAL OPTIONS, COMMANDS) left-aligned: citty pads the name column
 *   with padStart, a ragged left edge of names; here every row starts its name in column 2, and the
 *   descriptions of a page's arguments and options start in one column, those of its commands in
 *   another (a short command name is not pushed past the longest option); widths counted without
 *   colour codes;
 * - a command that runs CMD after `--` gets `-- CMD ARGS...` on its USAGE line (citty knows only
 *   declared arguments), and its description loses the usage it ends with (": tracer run [OPTIONS]
 *   -- CMD ARGS...", there for a stray argument's hint, ./_run.ts dashedUsage): the USAGE line says
 *   it. A parent's list of commands keeps it: no USAGE line there says where CMD goes;
 * - a command's page lists the global flags (the root's options, which the runner takes out before a
 *   command parses its own) under GLOBAL OPTIONS, before its COMMANDS;
 * - a subcommand is named in full, "tracer runs list" (citty names it after its parent only, "runs
 *   list", and without a version);
 * - no line ends in spaces.
 * Mending citty's text rather than rendering the rows ourselves keeps what citty derives from an
 * ArgDef (aliases, value hints, enum choices, `--no-` forms, "(Required)") its own.
 */
import { renderUsage } from "citty";
import { type AnyCommand, dashedUsage, resolve } from "./_run.ts";

const SGR = /\x1b\[[0-9;]*m/g;
const visible = (s: string) => s.replace(SGR, "");

/** the headings whose blocks are rows of a name and a description */
const BLOCKS = new Set(["ARGUMENTS", "OPTIONS", "GLOBAL OPTIONS", "COMMANDS"]);
/** a row: indent, a name (colour codes, no two spaces in a row), two or more spaces, its description if any */
const ROW = /^ +(\S(?:[^ ]| (?! ))*)(?: {2,}(.*))?$/;
/** a row's indent, and the spaces between the widest name and the descriptions (citty's) */
const INDENT = "  ";
const GAP = "    ";

/** The help of `cmd`, the command `words` name under `root` (none: the root itself). */
export async function helpText(root: AnyCommand, cmd: AnyCommand, words: string[]): Promise<string> {
  const top = root.meta ? await resolve(root.meta) : undefined;
  // citty's name for a command: its parent's name, a space, its own
  const parent = words.length
    ? { meta: { name: [top?.name, ...words.slice(0, -1)].join(" "), version: top?.version } }
    : undefined;
  const meta = cmd.meta ? await resolve(cmd.meta) : undefined;
  const dashed = dashedUsage(meta?.description);
  const tail = `: ${dashed} -- CMD ARGS...`;
  const text = await renderUsage(
    dashed && meta?.description?.endsWith(tail)
      ? { ...cmd, meta: { ...meta, description: meta.description.slice(0, -tail.length) } }
      : cmd,
    parent,
  );
  let lines = trimmed(text).map((l) =>
    dashed && /^(\S+ )?USAGE /.test(visible(l)) ? `${l} -- CMD ARGS...` : l,
  );
  if (words.length && root.args)
    lines = withGlobals(lines, trimmed(await renderUsage({ meta: { name: top?.name }, args: root.args })));
  return leftAligned(lines).join("\n");
}

/** A text's lines without the spaces they end in (spaces before a closing colour code too). */
const trimmed = (text: string) => text.split("\n").map((l) => l.replace(/\s+((?:\x1b\[[0-9;]*m)*)$/, "$1"));

/** `lines` with the root's OPTIONS block (`rootLines`) as GLOBAL OPTIONS, before its COMMANDS if any. */
function withGlobals(lines: string[], rootLines: string[]): string[] {
  const from = rootLines.findIndex((l) => visible(l) === "OPTIONS");
  if (from < 0) return lines;
  let to = from + 2;
  while (to < rootLines.length && visible(rootLines[to]!) !== "") to++;
  const block = [rootLines[from]!.replace("OPTIONS", "GLOBAL OPTIONS"), ...rootLines.slice(from + 1, to), ""];
  const at = lines.findIndex((l) => visible(l) === "COMMANDS");
  // (without commands, citty's text ends with a blank line: the block goes after it)
  return at < 0 ? [...lines, ...block] : [...lines.slice(0, at), ...block, ...lines.slice(at)];
}

/**
 * The rows of every block re-laid: names from the indent, descriptions in the column after the widest
 * name of their kind (arguments and options, or commands).
 */
function leftAligned(lines: string[]): string[] {
  const rows: { at: number; kind: string; name: string; text: string | undefined }[] = [];
  for (let i = 0; i < lines.length; i++) {
    const heading = visible(lines[i]!);
    if (!BLOCKS.has(heading)) continue;
    const kind = heading === "COMMANDS" ? "commands" : "options";
    // the heading, a blank line, then the rows up to the next blank line
    for (i += 2; i < lines.length && visible(lines[i]!) !== ""; i++) {
      const m = ROW.exec(lines[i]!);
      if (m) rows.push({ at: i, kind, name: m[1]!, text: m[2] });
    }
  }
  const width = new Map<string, number>();
  for (const r of rows) width.set(r.kind, Math.max(width.get(r.kind) ?? 0, visible(r.name).length));
  const out = [...lines];
  for (const { at, kind, name, text } of rows)
    out[at] = text
      ? `${INDENT}${name}${" ".repeat(width.get(kind)! - visible(name).length)}${GAP}${text}`
      : `${INDENT}${name}`;
  return out;
}
