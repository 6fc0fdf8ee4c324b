/**
 * Parse one rule file strictly: every key is known, every value has the documented type, and every
 * problem is reported as `file:line: key: what is wrong` — a typo must never silently disable a rule.
 */
import { sanitize } from "../core/sanitize.ts";
import { Exit, TracerError } from "../errors.ts";
import { CONDITION_KEYS } from "./_conditions.ts";
import { KeyLocator } from "./_lines.ts";
import { TEMPLATE_VARS } from "./template.ts";
import type { Condition, Rule, RuleKind } from "./types.ts";

export interface ParsedFile {
  rules: Rule[];
  exclude: { when: Condition; origin: string }[];
}

/**
 * A rule file's conditions and the names or patterns in their lists, counted as they are built: YAML
 * aliases expand (`&a {or: [*b, *b, *b]}` nested a dozen times is 500 bytes and 3^12 conditions, which
 * every process's match would walk; one list under many rules is as many lists), so a file is refused
 * past this many, and past this nesting.
 */
export const MAX_CONDITIONS = 5000;
export const MAX_NESTING = 32;

/** What a condition's value adds to the count: one, or one for each entry of its lists. */
function terms(v: unknown): number {
  if (Array.isArray(v)) return Math.max(1, v.length);
  if (isMap(v)) {
    let n = 1;
    for (const x of Object.values(v)) if (Array.isArray(x)) n += x.length;
    return n;
  }
  return 1;
}

const TOP_KEYS = new Set(["version", "rules", "exclude"]);
const RULE_KEYS = new Set(["name", "display_name", "kind"]);
const KINDS: RuleKind[] = ["tool", "workflow", "script"];
const isMap = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

class FileParser {
  readonly problems: string[] = [];
  readonly at: KeyLocator;
  /** conditions built so far (MAX_CONDITIONS), and how deep the current one is nested */
  private built = 0;
  private depth = 0;
  constructor(
    private readonly file: string,
    text: string,
    private readonly trusted: boolean,
  ) {
    this.at = new KeyLocator(text);
  }

  /** One problem, one line: a key is the file's text (a rule file may come with a pipeline), shown escaped */
  problem(line: number, key: string, what: string) {
    this.problems.push(sanitize(`${this.file}:${line}: ${key}: ${what}`));
  }

  /** A condition mapping: its keys are ANDed; `and`/`or` take lists, `not` takes one condition. */
  condition(value: unknown, key: string, line: number): Condition | undefined {
    if (!isMap(value) || !Object.keys(value).length) {
      this.problem(line, key, "expects a mapping of condition keys");
      return undefined;
    }
    if (this.depth >= MAX_NESTING) {
      this.problem(line, key, `conditions nested deeper than ${MAX_NESTING} levels`);
      return undefined;
    }
    this.depth++;
    try {
      const all: Condition[] = [];
      for (const [k, v] of Object.entries(value)) {
        const c = this.conditionKey(k, v, this.at.find(k));
        if (c) all.push(c);
      }
      return all.length === 1 ? all[0] : { kind: "and", all };
    } finally {
      this.depth--;
    }
  }

  private conditionKey(k: string, v: unknown, line: number): Condition | undefined {
    // refused at once, not listed with the others: going on would walk every expansion. A list counts
    // each entry (an alias of a 60,000-name list under 100 rules made a 300-process report take 36 s)
    this.built += k === "and" || k === "or" || k === "not" ? 1 : terms(v);
    if (this.built > MAX_CONDITIONS)
      throw new TracerError(
        "E_RULES",
        sanitize(
          `${this.file}:${line}: more than ${MAX_CONDITIONS} conditions (YAML aliases count once for every place they are used)`,
        ),
        Exit.error,
        { hint: "the keys and their values are listed in docs/RULES.md" },
      );
    if (k === "and" || k === "or") {
      if (!Array.isArray(v) || !v.length)
        return void this.problem(line, k, "expects a non-empty list of conditions");
      const list = v.map((c) => this.condition(c, k, line)).filter((c) => c !== undefined);
      if (list.length !== v.length) return undefined;
      return k === "and" ? { kind: "and", all: list } : { kind: "or", any: list };
    }
    if (k === "not") {
      const c = this.condition(v, k, line);
      return c && { kind: "not", cond: c };
    }
    const build = CONDITION_KEYS[k];
    if (!build) return void this.problem(line, k, `unknown key${suggest(k)}`);
    const test = build(v, this.trusted);
    if (typeof test === "string") return void this.problem(line, k, test);
    return { kind: "test", key: k, test, value: v };
  }

  rule(entry: unknown, index: number, line: number): Rule | undefined {
    if (!isMap(entry))
      return void this.problem(line, `rules[${index}]`, "expects a mapping (name, conditions…)");
    const first = Object.keys(entry)[0];
    let ruleLine = first === undefined ? line : this.at.peek(first);
    const name = entry.name;
    const conds: Condition[] = [];
    let display = typeof name === "string" ? name : "";
    let kind: RuleKind = "tool";
    for (const [k, v] of Object.entries(entry)) {
      const kLine = this.at.find(k);
      if (k === "name") {
        ruleLine = kLine;
        if (typeof name !== "string" || !name) this.problem(kLine, k, "expects a non-empty string");
      } else if (k === "display_name") {
        const bad = typeof v === "string" && v ? badTemplate(v) : "expects a non-empty string";
        if (bad) this.problem(kLine, k, bad);
        else display = v as string;
      } else if (k === "kind") {
        if (KINDS.includes(v as RuleKind)) kind = v as RuleKind;
        else this.problem(kLine, k, `expects one of ${KINDS.join(", ")}`);
      } else {
        const c = this.conditionKey(k, v, kLine);
        if (c) conds.push(c);
      }
    }
    if (!("name" in entry)) this.problem(ruleLine, `rules[${index}]`, "every rule needs a name");
    const hasCondition = Object.keys(entry).some((k) => !RULE_KEYS.has(k));
    if (!hasCondition)
      this.problem(ruleLine, String(name ?? `rules[${index}]`), "a rule needs at least one condition");
    if (typeof name !== "string" || !name || !hasCondition) return undefined;
    const when: Condition = conds.length === 1 ? conds[0]! : { kind: "and", all: conds };
    return { name, kind, display, when, origin: `${this.file}:${ruleLine}` };
  }
}

const badTemplate = (t: string) => {
  for (const m of t.matchAll(/\{([^}]*)\}/g))
    if (!TEMPLATE_VARS.test(m[1]!))
      return `unknown placeholder {${m[1]}} (use {name}, {tool}, {subcommand}, {script}, {output}, {jar}, {class}, {argN})`;
  return undefined;
};

const ALL_KEYS = [...Object.keys(CONDITION_KEYS), "and", "or", "not", ...RULE_KEYS];
function suggest(k: string): string {
  const close = ALL_KEYS.find((c) => distance(c, k) <= 2);
  return close ? ` (did you mean "${close}"?)` : " (see docs/RULES.md)";
}
function distance(a: string, b: string): number {
  const d = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = d[0]!;
    d[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const t = d[j]!;
      d[j] = Math.min(d[j]! + 1, d[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = t;
    }
  }
  return d[b.length]!;
}

/**
 * Parse a rule file's text; throws one TracerError listing every problem. `trusted`: the embedded
 * defaults only — their regexes are not compiled (so not validated) now but on first use
 * (src/rules/_regex.ts); every other file's regexes are compiled and validated here.
 */
export function parseRuleFile(text: string, file: string, opts: { trusted?: boolean } = {}): ParsedFile {
  let doc: unknown;
  try {
    doc = Bun.YAML.parse(text);
  } catch (e) {
    throw new TracerError("E_RULES", `${file}: not valid YAML: ${(e as Error).message}`, Exit.error, {
      cause: e,
    });
  }
  const p = new FileParser(file, text, opts.trusted === true);
  const out: ParsedFile = { rules: [], exclude: [] };
  if (doc === null || doc === undefined) return out;
  if (!isMap(doc)) throw new TracerError("E_RULES", `${file}:1: expects a mapping with rules: and exclude:`);
  for (const [k, v] of Object.entries(doc)) {
    const line = p.at.find(k);
    if (!TOP_KEYS.has(k)) p.problem(line, k, `unknown key (a rule file has ${[...TOP_KEYS].join(", ")})`);
    else if (k === "version" && v !== 1) p.problem(line, k, "only version 1 exists");
    else if (k === "rules" || k === "exclude") {
      if (!Array.isArray(v)) {
        if (v !== null) p.problem(line, k, "expects a list");
        continue;
      }
      v.forEach((entry, i) => {
        if (k === "rules") {
          const r = p.rule(entry, i, line);
          if (r) out.rules.push(r);
        } else {
          const first = isMap(entry) ? Object.keys(entry)[0] : undefined;
          const at = first === undefined ? line : p.at.peek(first);
          const c = p.condition(entry, `exclude[${i}]`, at);
          if (c) out.exclude.push({ when: c, origin: `${file}:${at}` });
        }
      });
    }
  }
  if (p.problems.length)
    throw new TracerError(
      "E_RULES",
      p.problems.length === 1
        ? p.problems[0]!
        : `${p.problems.length} problems:\n  ${p.problems.join("\n  ")}`,
      Exit.error,
      { hint: "the keys and their values are listed in docs/RULES.md" },
    );
  return out;
}
