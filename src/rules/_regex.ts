/**
 * Regexes in rules run on RE2JS, a linear-time engine: no backtracking, so no pattern can take
 * exponential time; backreferences and lookarounds are rejected by the engine. Patterns are also
 * capped in length.
 *
 * When a pattern is compiled: a user's rule file (--rules, the config file, `tracer rules check`) is
 * validated when it is loaded, so a bad pattern fails there with file:line:key — and the compiled
 * pattern is kept. The embedded defaults are not compiled at load (their patterns are checked by
 * tests/rules/): each compiles the first time a process reaches it, then is cached. Most reports
 * reach none of them, and compiling the four took most of loading the rules.
 */
import { RE2JS } from "re2js";

export const MAX_PATTERN = 512;

export type Tester = (s: string) => boolean;

/** Compile `pattern` now (validating it) or return why it is refused. */
export function compileRegex(pattern: string): Tester | string {
  if (pattern.length > MAX_PATTERN) return `pattern is ${pattern.length} characters (at most ${MAX_PATTERN})`;
  try {
    const re = RE2JS.compile(pattern);
    // a text with none of the strings every match holds cannot match: no engine run (most command lines)
    const needs = requiredStrings(pattern);
    // test(): a boolean on the DFA fast path, no Matcher allocated per call
    if (!needs.length) return (s) => re.test(s);
    return (s) => {
      for (const n of needs) if (s.includes(n)) return re.test(s);
      return false;
    };
  } catch (e) {
    return `not a valid RE2 pattern: ${(e as Error).message}`;
  }
}

/**
 * A tester that compiles `pattern` on its first call and keeps it: for trusted patterns only (the
 * embedded defaults). Only the length cap is checked now; an invalid pattern throws on first use.
 */
export function lazyRegex(pattern: string): Tester | string {
  if (pattern.length > MAX_PATTERN) return `pattern is ${pattern.length} characters (at most ${MAX_PATTERN})`;
  let test: Tester | undefined;
  return (s) => {
    if (!test) {
      const re = compileRegex(pattern);
      if (typeof re === "string") throw new Error(`rule regex ${JSON.stringify(pattern)}: ${re}`);
      test = re;
    }
    return test(s);
  };
}

/** characters that are themselves when escaped with a backslash (RE2: any punctuation) */
const PUNCT = /^[!-/:-@[-`{-~]$/;
/** escapes of one character class or one empty-width assertion (no literal, nothing more to skip) */
const CLASS_ESCAPES = "dDsSwWbBAz";

/**
 * Strings a text must hold (at least one of them) for `pattern` to match it anywhere, read from the
 * pattern's syntax; [] when none can be read (then every text is tried). Conservative: a construct it
 * does not know (flags `(?…)`, `\p{…}`, `\x…`, `\Q…\E`, non-ASCII) yields no string. A literal counts only
 * where it is not optional: outside `?`, `*`, `{…}` and inside a group only when the group is required;
 * an alternation yields one string per branch (each branch must give one).
 * `(^|[\s/])\.command\.(run|sh)(\s|$)` → [".command."]; `a(b|cd)` → ["b", "cd"] or ["a"].
 */
export function requiredStrings(pattern: string): string[] {
  if (pattern.includes("(?") || /[^\x20-\x7e]/.test(pattern)) return [];
  let at = 0;
  /** an alternation up to `)` or the end: each branch's strings, or [] when a branch has none */
  const alternation = (): string[] | undefined => {
    const branches: string[][] = [];
    for (;;) {
      const b = sequence();
      if (b === undefined) return undefined;
      branches.push(b);
      if (pattern[at] !== "|") break;
      at++;
    }
    return branches.some((b) => !b.length) ? [] : branches.flat();
  };
  /** a sequence up to `|`, `)` or the end: its best required strings (the set whose shortest is longest) */
  const sequence = (): string[] | undefined => {
    let best: string[] = [];
    let run = "";
    const score = (xs: string[]) => (xs.length ? Math.min(...xs.map((x) => x.length)) : 0);
    const keep = (xs: string[]) => {
      if (score(xs) > score(best)) best = xs;
    };
    const endRun = () => {
      if (run) keep([run]);
      run = "";
    };
    while (at < pattern.length && pattern[at] !== "|" && pattern[at] !== ")") {
      const c = pattern[at]!;
      // one atom: a literal character (lit), or something else (its required strings in `inner`)
      let lit: string | undefined;
      let inner: string[] = [];
      if (c === "\\") {
        const e = pattern[at + 1];
        if (e === undefined) return undefined;
        at += 2;
        if (PUNCT.test(e)) lit = e;
        else if (!CLASS_ESCAPES.includes(e)) return undefined;
      } else if (c === "[") {
        // a class: skip to its closing bracket (a `]` first in it is a member)
        let j = at + 1;
        if (pattern[j] === "^") j++;
        if (pattern[j] === "]") j++;
        for (; j < pattern.length && pattern[j] !== "]"; j++) if (pattern[j] === "\\") j++;
        if (j >= pattern.length) return undefined;
        at = j + 1;
      } else if (c === "(") {
        at++;
        const g = alternation();
        if (g === undefined || pattern[at] !== ")") return undefined;
        at++;
        inner = g;
      } else if ("*+?{".includes(c)) {
        return undefined; // a repetition of nothing: not a pattern this reads
      } else {
        at++;
        if (c !== "." && c !== "^" && c !== "$") lit = c;
      }
      // its repetition: ?, * and {0…} make it optional; + and {n…} (n ≥ 1) keep it required
      const q = pattern[at];
      let optional = false;
      let repeated = false;
      if (q === "?" || q === "*") {
        optional = true;
        at++;
      } else if (q === "+") {
        repeated = true;
        at++;
      } else if (q === "{") {
        const m = /^\{(\d+)(,\d*)?\}/.exec(pattern.slice(at));
        if (!m) return undefined;
        optional = Number(m[1]) === 0;
        repeated = true;
        at += m[0].length;
      }
      if (q === "?" || q === "*" || q === "+" || q === "{") if (pattern[at] === "?") at++; // lazy
      if (optional) {
        endRun();
        continue;
      }
      if (lit !== undefined) {
        run += lit;
        if (repeated) endRun();
      } else {
        endRun();
        keep(inner);
      }
    }
    endRun();
    return best;
  };
  const all = alternation();
  return all === undefined || at !== pattern.length ? [] : all;
}
