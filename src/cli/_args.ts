/**
 * Argument parsing for one command, strict: an unknown flag, a missing value or a stray argument is a
 * usage error (a typo must never be silently ignored). It yields the object citty's commands expect
 * (`args[name]`, `args._`), so commands keep citty's types without loading citty (and node:util) on
 * every start: citty is loaded only to render --help.
 *
 * Forms: `--name value`, `--name=value`, `-a value` (alias), `--flag`, `--no-flag`, `--flag=true|false`;
 * `-` and negative numbers are positionals; everything after `--` belongs to the command (rawArgs).
 * A last positional whose valueHint ends in "..." (e.g. `RUN...`) takes every remaining positional: the
 * first is `args[name]`, all of them are in `args._`. A token quoted in an error message is a JSON string:
 * a newline in it shows as \n, never as a second line of tracer's own.
 */
import type { ArgDef, ArgsDef, ParsedArgs } from "citty";
import { Exit, TracerError } from "../errors.ts";

const usageError = (message: string, hint?: string) =>
  new TracerError("E_USAGE", message, Exit.usage, { hint });

/** "-x…" but not "-" nor a negative number "-1…" (no regex: its first use costs ~0.05 ms, issue 15) */
const isFlag = (t: string) => {
  const second = t.charCodeAt(1); // NaN for "-"
  return t.startsWith("-") && t.length > 1 && !(second >= 48 && second <= 57);
};

/** a command line as a hint shows it: its first 120 characters */
const shown = (words: string[]) => {
  const line = words.join(" ");
  return line.length > 120 ? `${line.slice(0, 120)}…` : line;
};

/**
 * `command`: for a command that runs a CMD given after `--`, its usage (e.g. "tracer run [OPTIONS]"),
 * asked only when a stray argument gets a hint to put the command after `--`.
 */
export function parseArgv(defs: ArgsDef, tokens: string[], command?: () => string | undefined): ParsedArgs {
  const byName = new Map<string, [string, ArgDef]>();
  const positionals: [string, ArgDef][] = [];
  // values absent from the command line stay undefined, as with citty
  const out: Record<string, string | boolean> = {};
  const rest: string[] = [];
  for (const [name, def] of Object.entries(defs)) {
    if (def.type === "positional") positionals.push([name, def]);
    else {
      byName.set(name, [name, def]);
      const aliases = "alias" in def && def.alias ? (Array.isArray(def.alias) ? def.alias : [def.alias]) : [];
      for (const a of aliases) byName.set(a, [name, def]);
    }
    if (def.default !== undefined) out[name] = def.default;
  }
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (t === "--") {
      rest.push(...tokens.slice(i + 1));
      break;
    }
    if (!isFlag(t)) {
      const last = positionals[positionals.length - 1];
      const slot = positionals[rest.length] ?? (last?.[1].valueHint?.endsWith("...") ? last : undefined);
      if (!slot) {
        const usage = command?.();
        throw usageError(
          `unexpected argument ${JSON.stringify(t)} (see --help)`,
          usage ? `the command to run goes after "--": ${usage} -- ${shown(tokens.slice(i))}` : undefined,
        );
      }
      if (slot === positionals[rest.length]) out[slot[0]] = t;
      rest.push(t);
      continue;
    }
    const eq = t.indexOf("=");
    const raw = t.slice(t.startsWith("--") ? 2 : 1, eq < 0 ? undefined : eq);
    const inline = eq < 0 ? undefined : t.slice(eq + 1);
    const negated = !byName.has(raw) && raw.startsWith("no-") ? byName.get(raw.slice(3)) : undefined;
    const found = byName.get(raw) ?? negated;
    if (!found || (negated && found[1].type !== "boolean"))
      throw usageError(`unknown option ${JSON.stringify(eq < 0 ? t : t.slice(0, eq))} (see --help)`);
    const [name, def] = found;
    if (def.type === "boolean") {
      if (inline !== undefined && inline !== "true" && inline !== "false")
        throw usageError(
          `option ${JSON.stringify(t.slice(0, eq))} is a switch: give it alone, or =true / =false`,
        );
      out[name] = negated ? inline === "false" : inline !== "false";
    } else if (inline !== undefined) out[name] = inline;
    else {
      const next = tokens[i + 1];
      if (next === undefined) throw usageError(`option ${JSON.stringify(t)} needs a value`);
      out[name] = next;
      i++;
    }
  }
  for (const [name, def] of positionals)
    if (out[name] === undefined && def.required !== false)
      throw usageError(`missing ${(def.valueHint ?? name).replace(/\.+$/, "").toUpperCase()} (see --help)`);
  for (const [name, def] of Object.entries(defs))
    if (def.type !== "positional" && def.required && out[name] === undefined)
      throw usageError(`option "--${name}" is required (see --help)`);
  return { ...out, _: rest } as ParsedArgs;
}
