/**
 * Regexes in rules run on RE2JS, a linear-time engine: no backtracking, so no pattern can take
 * exponential time; backreferences and lookarounds are rejected by the engine. Patterns are also
 * capped in length and compiled once, when the rule file is loaded.
 */
import { RE2JS } from "re2js";

export const MAX_PATTERN = 512;

export type Tester = (s: string) => boolean;

/** Compile `pattern` or return why it is refused. */
export function compileRegex(pattern: string): Tester | string {
  if (pattern.length > MAX_PATTERN) return `pattern is ${pattern.length} characters (at most ${MAX_PATTERN})`;
  try {
    const re = RE2JS.compile(pattern);
    // test(): a boolean on the DFA fast path, no Matcher allocated per call
    return (s) => re.test(s);
  } catch (e) {
    return `not a valid RE2 pattern: ${(e as Error).message}`;
  }
}
