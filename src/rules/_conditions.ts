/** The condition keys: each validates its YAML value and returns a test over a process view. */
import { compileRegex, lazyRegex, requiredStrings } from "./_regex.ts";
import type { View } from "./types.ts";

type Test = (v: View) => boolean;
/** a test, or the reason the value is refused; `trusted`: the embedded defaults (regexes compile
 * on first use, src/rules/_regex.ts) */
type Builder = (value: unknown, trusted?: boolean) => Test | string;

const isStr = (v: unknown): v is string => typeof v === "string" && v.length > 0;

/** a non-empty string or a non-empty list of them */
function strings(value: unknown): string[] | string {
  const list = Array.isArray(value) ? value : [value];
  if (!list.length || !list.every(isStr)) return "expects a non-empty string or a list of non-empty strings";
  return list as string[];
}

const withStrings =
  (make: (list: string[]) => Test): Builder =>
  (value) => {
    const list = strings(value);
    return typeof list === "string" ? list : make(list);
  };

/**
 * Whether `within` (the command line, or the list of arguments: searched with its own `includes`)
 * holds every string of `list` (holdsAll) or one of them (holdsAny). Plain loops, not
 * `list.every((s) => …)`: that made a closure per process for each such condition (a report tests the
 * exclusions on every process a rule names).
 */
function holdsAll(within: { includes(s: string): boolean }, list: readonly string[]): boolean {
  for (const s of list) if (!within.includes(s)) return false;
  return true;
}
function holdsAny(within: { includes(s: string): boolean }, list: readonly string[]): boolean {
  for (const s of list) if (within.includes(s)) return true;
  return false;
}

/** `*` matches any run of characters; nothing else is special */
function glob(pattern: string): (s: string) => boolean {
  const parts = pattern.split("*");
  if (parts.length === 1) return (s) => s === pattern;
  return (s) => {
    if (!s.startsWith(parts[0]!) || !s.endsWith(parts.at(-1)!)) return false;
    let at = parts[0]!.length;
    for (const p of parts.slice(1, -1)) {
      const i = s.indexOf(p, at);
      if (i < 0) return false;
      at = i + p.length;
    }
    return at <= s.length - parts.at(-1)!.length;
  };
}

const JAVA_KEYS = new Set(["jar", "class", "subcommand"]);

function java(value: unknown): Test | string {
  if (typeof value !== "object" || value === null || Array.isArray(value))
    return "expects a mapping with jar or class, and optionally subcommand";
  const v = value as Record<string, unknown>;
  const unknown = Object.keys(v).find((k) => !JAVA_KEYS.has(k));
  if (unknown) return `unknown key "${unknown}" (java takes jar, class, subcommand)`;
  if ((v.jar === undefined) === (v.class === undefined)) return "needs exactly one of jar or class";
  if (v.jar !== undefined && !isStr(v.jar)) return "jar expects a file name (a * matches any characters)";
  if (v.class !== undefined && !isStr(v.class)) return "class expects a fully qualified class name";
  const subs = v.subcommand === undefined ? undefined : strings(v.subcommand);
  if (typeof subs === "string") return `subcommand ${subs}`;
  const jar = v.jar === undefined ? undefined : glob(v.jar as string);
  const cls = v.class as string | undefined;
  return (view) => {
    const j = view.java;
    if (!j) return false;
    if (jar && !(j.jar !== undefined && jar(j.jar))) return false;
    if (cls !== undefined && j.class !== cls) return false;
    return !subs || (j.subcommand !== undefined && subs.includes(j.subcommand));
  };
}

/** Every documented condition key (docs/RULES.md). Lists mean "any of" for *_is / *_one_of / name
 * keys and "all of" for *_contain(s) keys; the *_not_* keys are true when none is present. */
export const CONDITION_KEYS: Record<string, Builder> = {
  // the name keys run for every process against every rule: no allocation per test
  process_name_is: withStrings((l) => {
    const names = new Set(l);
    return (v) => names.has(v.name) || names.has(v.comm) || (!!v.interpreter && names.has(v.interpreter));
  }),
  process_name_contains: withStrings((l) => {
    const has = (n: string | undefined) => {
      if (n) for (const s of l) if (n.includes(s)) return true;
      return false;
    };
    return (v) => has(v.name) || has(v.comm) || has(v.interpreter);
  }),
  command_contains: withStrings((l) => (v) => holdsAll(v.command, l)),
  command_not_contains: withStrings((l) => (v) => !holdsAny(v.command, l)),
  command_matches_regex: (value, trusted) => {
    if (!isStr(value)) return "expects a regular expression (RE2 syntax) as a string";
    const re = trusted ? lazyRegex(value) : compileRegex(value);
    if (typeof re === "string") return re;
    // every match holds one of these strings; with no space in one, it lies inside one word of the
    // command line: a process none of whose words holds one is not tried (its command line not built)
    const needs = requiredStrings(value);
    if (!needs.length || needs.some((n) => n.includes(" "))) return (v) => re(v.command);
    return (v) => v.mentionsAny(needs) && re(v.command);
  },
  args_contain: withStrings((l) => (v) => holdsAll(v.args, l)),
  args_not_contain: withStrings((l) => (v) => !holdsAny(v.args, l)),
  min_args: (value) =>
    typeof value === "number" && Number.isInteger(value) && value >= 0
      ? (v) => v.args.length >= value
      : "expects a whole number ≥ 0",
  first_arg_is: withStrings((l) => (v) => v.args[0] !== undefined && l.includes(v.args[0])),
  subcommand_is_one_of: withStrings((l) => (v) => v.subcommand !== undefined && l.includes(v.subcommand)),
  java,
};
