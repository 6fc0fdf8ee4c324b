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
    // test(): a boolean on the DFA fast path, no Matcher allocated per call
    return (s) => re.test(s);
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
