/**
 * Recognition rules. `loadRules` reads the user's files (the --rules flag, then the config file
 * rules.yml in the config dir when present) before the embedded defaults: first match wins.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { NotRegularFile, readRegularHead } from "../core/regular-file.ts";
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

/** The largest rule file read (the embedded defaults are ~10 KB). */
export const MAX_RULE_FILE_BYTES = 1 << 20;

/**
 * A rule file's text. A rule file may come with a pipeline: it is opened without blocking (a FIFO
 * would wait for a writer forever), must be a regular file (not /dev/zero) and at most
 * MAX_RULE_FILE_BYTES. Throws E_RULES_READ, naming the path and the reason.
 */
export function readRuleFile(path: string): string {
  const refuse = (why: string, cause?: unknown) =>
    new TracerError("E_RULES_READ", `cannot read rule file ${path}: ${why}`, Exit.error, { cause });
  let head: Buffer;
  try {
    // one byte past the bound tells a file over it
    head = readRegularHead(path, MAX_RULE_FILE_BYTES + 1);
  } catch (e) {
    if (e instanceof NotRegularFile)
      throw refuse(e.kind === "directory" ? "is a directory" : "not a regular file");
    throw refuse(errnoText(e), e);
  }
  if (head.length > MAX_RULE_FILE_BYTES)
    throw refuse(`more than a rule file may have (${MAX_RULE_FILE_BYTES} bytes)`);
  return head.toString("utf8");
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
