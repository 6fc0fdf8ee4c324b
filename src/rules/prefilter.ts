/**
 * A name filter implied by a rule set: a process no rule can match unless one of its names (the
 * basename of argv[0], of argv[1] for a script run through its #! line, or its kernel comm) equals an
 * `is` name or contains a `contains` name. The daemon's exec watcher applies it natively to every exec
 * on the host, so execs no rule can match never reach JavaScript (ffi/execwatch.c).
 *
 * Derived from the conditions that name the process (process_name_is, process_name_contains, java):
 * a rule's necessary names are those of one of its `and` members, or of every `or` member. A rule
 * with none (only command, args or `not` conditions) can match any process: then there is no filter.
 * Exclusions only remove matches, so they are ignored (the filter may pass more, never less).
 */
import type { Condition, RuleSet } from "./types.ts";

export interface NameFilter {
  is: string[];
  contains: string[];
}

const base = (p: string) => p.slice(p.lastIndexOf("/") + 1);
const strings = (v: unknown): string[] => (Array.isArray(v) ? v : [v]).filter((s) => typeof s === "string");

/** Names a process must show for `c` to hold, or undefined when `c` can hold whatever its names. */
export function necessary(c: Condition): NameFilter | undefined {
  switch (c.kind) {
    case "test":
      if (c.key === "process_name_is") return { is: strings(c.value), contains: [] };
      if (c.key === "process_name_contains") return { is: [], contains: strings(c.value) };
      // a java view exists only for a process named java (src/rules/_view.ts)
      if (c.key === "java") return { is: ["java"], contains: [] };
      return undefined;
    case "and":
      for (const x of c.all) {
        const n = necessary(x);
        if (n) return n;
      }
      return undefined;
    case "or": {
      const out: NameFilter = { is: [], contains: [] };
      for (const x of c.any) {
        const n = necessary(x);
        if (!n) return undefined;
        out.is.push(...n.is);
        out.contains.push(...n.contains);
      }
      return out;
    }
    case "not":
      return undefined;
  }
}

/** The set's name filter, or undefined when some rule can match a process whatever its names. */
export function nameFilter(set: RuleSet): NameFilter | undefined {
  const is = new Set<string>();
  const contains = new Set<string>();
  for (const rule of set.rules) {
    const n = necessary(rule.when);
    if (!n) return undefined;
    for (const s of n.is) is.add(s);
    for (const s of n.contains) contains.add(s);
  }
  const all = [...is, ...contains];
  // the native side reads NUL-separated names; an empty `contains` name passes everything anyway
  if (all.some((s) => s.includes("\0")) || [...contains].some((s) => s === "")) return undefined;
  return { is: [...is], contains: [...contains] };
}

/** The names the filter looks at, as the native side derives them from argv and the kernel comm. */
export function filterNames(argv: readonly string[], comm: string | undefined): string[] {
  const names = argv.slice(0, 2).map(base);
  if (comm !== undefined) names.push(comm);
  return names;
}

/** Does a process with these names pass? (The native side's test, for tests and checks.) */
export function passes(f: NameFilter, names: readonly string[]): boolean {
  return names.some((n) => f.is.includes(n) || f.contains.some((s) => n.includes(s)));
}
