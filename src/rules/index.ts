/**
 * Recognition rules. `loadRules` reads the user's files (the --rules flag, then the config file
 * rules.yml in the config dir when present) before the embedded defaults: first match wins.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Exit, TracerError, errnoText } from "../errors.ts";
import defaultsText from "./defaults.yml" with { type: "text" };
import { parseRuleFile } from "./parse.ts";
import type { RuleSet } from "./types.ts";

export { classifier, classify, holds, matchProcess, type Verdict } from "./match.ts";
export { parseRuleFile } from "./parse.ts";
export { viewOf } from "./_view.ts";
export type { Match, ProcessFacts, Rule, RuleKind, RuleSet } from "./types.ts";

export const EMBEDDED = "<embedded defaults>";

/** The user's own rule file, used when present: $TRACER_CONFIG_DIR or ~/.config/tracer, rules.yml. */
export function configRulesPath(env = process.env): string {
  const dir =
    env.TRACER_CONFIG_DIR ?? join(env.XDG_CONFIG_HOME ?? join(env.HOME ?? "/", ".config"), "tracer");
  return join(dir, "rules.yml");
}

export function readRuleFile(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (e) {
    throw new TracerError("E_RULES_READ", `cannot read rule file ${path}: ${errnoText(e)}`, Exit.error, {
      cause: e,
    });
  }
}

export interface LoadOptions {
  /** files named with --rules, in order */
  files?: string[];
  /** also read the config file (default true) */
  config?: boolean;
  /** also use the embedded defaults (default true) */
  defaults?: boolean;
}

export function loadRules(opts: LoadOptions = {}): RuleSet {
  const sources: [string, string][] = (opts.files ?? []).map((f) => [f, readRuleFile(f)]);
  const config = configRulesPath();
  if (opts.config !== false && existsSync(config)) sources.push([config, readRuleFile(config)]);
  if (opts.defaults !== false) sources.push([EMBEDDED, defaultsText]);
  const set: RuleSet = { rules: [], exclude: [], files: [] };
  for (const [file, text] of sources) {
    const parsed = parseRuleFile(text, file, { trusted: file === EMBEDDED });
    set.rules.push(...parsed.rules);
    set.exclude.push(...parsed.exclude);
    set.files.push(file);
  }
  return set;
}
