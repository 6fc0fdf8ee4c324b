/** Match a process against a rule set: exclusions first, then the first rule in precedence order. */
import { dfgOnly } from "../core/jit-tier.ts";
import { viewDfgOnly, viewOf } from "./_view.ts";
import { necessary } from "./prefilter.ts";
import { render } from "./template.ts";
import type { Condition, Match, ProcessFacts, Rule, RuleSet, View } from "./types.ts";

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

/** distinct process names remembered by a classifier (a run has few; bounds it when it has many) */
const NAMES_MEMO = 4096;

/**
 * classify, for many processes: each rule is tried only on processes whose names (the view's name,
 * comm and interpreter) it can match (src/rules/prefilter.ts); the rules left for a set of names are
 * worked out once. Same verdicts as classify, in the same precedence order. `matchOnly`: the verdicts
 * of matchProcess instead (a match or undefined), and the exclusions are tried only on a process a
 * rule matches (most processes match none: no exclusion regex runs on them).
 */
export function classifier(
  set: RuleSet,
  opts: { matchOnly?: boolean } = {},
): (facts: ProcessFacts) => Verdict {
  const matchOnly = opts.matchOnly === true;
  const needs = set.rules.map((r) => necessary(r.when));
  const can = (i: number, names: (string | undefined)[]) => {
    const n = needs[i];
    if (!n) return true;
    for (const name of names) {
      if (!name) continue;
      if (n.is.includes(name)) return true;
      for (const s of n.contains) if (name.includes(s)) return true;
    }
    return false;
  };
  const memo = new Map<string, Rule[]>();
  const verdictOf = (facts: ProcessFacts): Verdict => {
    const v = viewOf(facts);
    if (!v.argv.length) return undefined;
    if (!matchOnly) {
      const origin = exclusion(set, v);
      if (origin !== undefined) return { excluded: origin };
    }
    // most processes' comm is their name and no interpreter shows: the name alone (no NUL, unlike the rest)
    const key =
      v.comm === v.name && v.interpreter === undefined
        ? v.name
        : `${v.name}\0${v.comm}\0${v.interpreter ?? "\0"}`;
    let rules = memo.get(key);
    if (!rules) {
      const names = [v.name, v.comm, v.interpreter];
      rules = set.rules.filter((_, i) => can(i, names));
      if (memo.size >= NAMES_MEMO) memo.clear();
      memo.set(key, rules);
    }
    for (const rule of rules) {
      if (rule.kind === "script" && v.script === undefined) continue;
      if (!holds(rule.when, v)) continue;
      if (matchOnly && exclusion(set, v) !== undefined) return undefined;
      return { rule, display: render(rule.display, v, rule.name) };
    }
    return undefined;
  };
  // a classifier is for many processes (a report's): its functions are kept out of the FTL tier
  // (src/core/jit-tier.ts); the daemon's matchProcess keeps the normal policy
  dfgOnly(verdictOf, can, holds, exclusion, render);
  viewDfgOnly();
  for (const x of [...set.rules, ...set.exclude]) testsDfgOnly(x.when);
  return verdictOf;
}

/** A condition's tests kept out of the FTL tier (classifier). */
function testsDfgOnly(c: Condition): void {
  if (c.kind === "test") dfgOnly(c.test);
  else if (c.kind === "not") testsDfgOnly(c.cond);
  else for (const x of c.kind === "and" ? c.all : c.any) testsDfgOnly(x);
}

/** where the first exclusion that holds for `v` was defined, or undefined */
function exclusion(set: RuleSet, v: View): string | undefined {
  for (const x of set.exclude) if (holds(x.when, v)) return x.origin;
  return undefined;
}

/** The match for a process, or undefined when it is excluded or unknown. */
export function matchProcess(set: RuleSet, facts: ProcessFacts): Match | undefined {
  const r = classify(set, facts);
  return r && "rule" in r ? r : undefined;
}
