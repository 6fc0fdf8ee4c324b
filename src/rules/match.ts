/** Match a process against a rule set: exclusions first, then the first rule in precedence order. */
import { viewOf } from "./_view.ts";
import { render } from "./template.ts";
import type { Condition, Match, ProcessFacts, RuleSet, View } from "./types.ts";

export function holds(c: Condition, v: View): boolean {
  switch (c.kind) {
    case "and":
      for (const x of c.all) if (!holds(x, v)) return false;
      return true;
    case "or":
      for (const x of c.any) if (holds(x, v)) return true;
      return false;
    case "not":
      return !holds(c.cond, v);
    case "test":
      return c.test(v);
  }
}

export type Verdict = { excluded: string } | Match | undefined;

/** Why a process is or is not recognized: `{ excluded: origin }`, a match, or undefined. */
export function classify(set: RuleSet, facts: ProcessFacts): Verdict {
  const v = viewOf(facts);
  if (!v.argv.length) return undefined;
  for (const x of set.exclude) if (holds(x.when, v)) return { excluded: x.origin };
  for (const rule of set.rules) {
    // a script rule names only a process that runs a script (not a bare shell, a fork, or `-c` code)
    if (rule.kind === "script" && v.script === undefined) continue;
    if (holds(rule.when, v)) return { rule, display: render(rule.display, v, rule.name) };
  }
  return undefined;
}

/** The match for a process, or undefined when it is excluded or unknown. */
export function matchProcess(set: RuleSet, facts: ProcessFacts): Match | undefined {
  const r = classify(set, facts);
  return r && "rule" in r ? r : undefined;
}
