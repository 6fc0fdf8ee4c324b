/**
 * Shared helpers for the static-analysis tests: the rule sets (.semgrep.yml and the ast-grep rules),
 * semgrep's test annotations, and ast-grep runs.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { ROOT } from "../helpers/harness.ts";

export const SEMGREP_CONFIG = join(ROOT, ".semgrep.yml");
export const AST_GREP_RULES = join(ROOT, "tools", "ast-grep", "rules");
export const AST_GREP = join(ROOT, "node_modules", ".bin", "ast-grep");
export const FIXTURES = join(ROOT, "tests", "semgrep", "fixtures");
/** What CI scans (.ci/run, step "static analysis"): the shipped program and the scripts that build it. */
export const SCAN_SCOPE = ["src", "ffi", "scripts"];

export interface SemgrepRule {
  id: string;
  message?: string;
  severity?: string;
  languages?: string[];
  metadata?: { cwe?: string | string[] };
}

export function semgrepRules(file = SEMGREP_CONFIG): SemgrepRule[] {
  const doc = Bun.YAML.parse(readFileSync(file, "utf8")) as { rules?: SemgrepRule[] };
  return doc.rules ?? [];
}

export interface AstGrepRule {
  id: string;
  severity?: string;
  language?: string;
  file: string;
}

export function astGrepRules(dir = AST_GREP_RULES): AstGrepRule[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith(".yml") || f.endsWith(".yaml"))
    .map((f) => ({ ...(Bun.YAML.parse(readFileSync(join(dir, f), "utf8")) as AstGrepRule), file: f }));
}

/** Every .ts file under `dir`, as paths relative to ROOT. */
export function tsFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && e.name.endsWith(".ts")) out.push(relative(ROOT, p));
    }
  };
  walk(dir);
  return out.sort();
}

export type Annotation = "ruleid" | "ok";

/**
 * semgrep's test annotations: `// ruleid: ID[, ID]` or `// ok: ID` on the line above the code line it
 * speaks about. Returns one entry per (kind, rule, 1-based target line).
 */
export function annotations(text: string): { kind: Annotation; rule: string; line: number }[] {
  const out: { kind: Annotation; rule: string; line: number }[] = [];
  const lines = text.split("\n");
  lines.forEach((l, i) => {
    const m = /^\s*\/\/\s*(ruleid|ok):\s*(.+?)\s*$/.exec(l);
    if (!m) return;
    for (const rule of m[2]!.split(/\s*,\s*/)) out.push({ kind: m[1] as Annotation, rule, line: i + 2 });
  });
  return out;
}

export interface Finding {
  file: string;
  line: number;
  ruleId: string;
}

/** Run `ast-grep scan` (project config at `config`) over `paths`; findings with 1-based lines. */
export function astGrepScan(
  paths: string[],
  opts: { cwd?: string; config?: string; extra?: string[] } = {},
): { code: number; findings: Finding[]; stderr: string } {
  const p = Bun.spawnSync(
    [
      AST_GREP,
      "scan",
      "--config",
      opts.config ?? join(ROOT, "sgconfig.yml"),
      "--json=stream",
      ...(opts.extra ?? []),
      ...paths,
    ],
    { cwd: opts.cwd ?? ROOT, stdout: "pipe", stderr: "pipe", env: { ...process.env, NO_COLOR: "1" } },
  );
  const findings = p.stdout
    .toString()
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { file: string; ruleId: string; range: { start: { line: number } } })
    .map((j) => ({ file: j.file, line: j.range.start.line + 1, ruleId: j.ruleId }));
  return { code: p.exitCode ?? -1, findings, stderr: p.stderr.toString() };
}
