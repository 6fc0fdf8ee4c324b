/** What `tracer rules check` and `tracer rules test` compute (the CLI only prints it). */
import { loadRules, parseRuleFile, readRuleFile } from "./index.ts";
import { classify } from "./match.ts";
import type { RuleKind } from "./types.ts";

export interface CheckResult {
  file: string;
  rules: number;
  exclude: number;
}

/** Validate one file on its own; throws E_RULES naming file:line:key for each problem. */
export function checkRuleFile(file: string): CheckResult {
  const parsed = parseRuleFile(readRuleFile(file), file);
  return { file, rules: parsed.rules.length, exclude: parsed.exclude.length };
}

export interface TestResult {
  argv: string[];
  status: "matched" | "excluded" | "unknown";
  rule?: { name: string; kind: RuleKind; origin: string };
  display?: string;
  excludedBy?: string;
  files: string[];
}

/** Which rule a command line matches, with the user's files (then the config file) before the defaults. */
export function testCommand(argv: string[], files: string[] = []): TestResult {
  const set = loadRules({ files });
  const comm = (argv[0] ?? "").slice((argv[0] ?? "").lastIndexOf("/") + 1).slice(0, 15);
  const v = classify(set, { argv, comm });
  const base = { argv, files: set.files };
  if (!v) return { ...base, status: "unknown" };
  if ("excluded" in v) return { ...base, status: "excluded", excludedBy: v.excluded };
  const { name, kind, origin } = v.rule;
  return { ...base, status: "matched", rule: { name, kind, origin }, display: v.display };
}
