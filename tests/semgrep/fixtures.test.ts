/**
 * The rules are proven to fire: every fixture under tests/semgrep/fixtures carries semgrep's test
 * annotations (`// ruleid: ID` above a line that must match, `// ok: ID` above one that must not), and
 * ast-grep (the engine CI enforces with) must report exactly the `ruleid` lines — no miss, no false hit.
 * The fixture tree mirrors the repository layout (src/net, src/spawn, src/install, ffi, scripts) so the
 * path scoping of each rule is tested too.
 */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "../helpers/harness.ts";
import { FIXTURES, annotations, astGrepRules, astGrepScan, semgrepRules, tsFiles } from "./_rules.ts";

const semgrep = semgrepRules();
const astGrep = astGrepRules();
const ids = semgrep.map((r) => r.id).sort();
const fixtureFiles = tsFiles(FIXTURES);
const annotated = fixtureFiles.flatMap((file) =>
  annotations(readFileSync(join(ROOT, file), "utf8")).map((a) => ({ ...a, file })),
);

describe("rule sets", () => {
  test("semgrep and ast-grep define the same rule ids, one ast-grep rule per semgrep rule", () => {
    expect(ids.length).toBeGreaterThanOrEqual(8);
    expect(new Set(ids).size).toBe(ids.length);
    expect(astGrep.map((r) => r.id).sort()).toEqual(ids);
    for (const r of astGrep) expect(r.file).toBe(`${r.id}.yml`);
  });

  test("every semgrep rule has a message, ERROR severity, TypeScript and a CWE", () => {
    for (const r of semgrep) {
      expect({ id: r.id, message: (r.message ?? "").length > 20 }).toEqual({ id: r.id, message: true });
      expect({ id: r.id, severity: r.severity }).toEqual({ id: r.id, severity: "ERROR" });
      expect({ id: r.id, ts: r.languages?.includes("typescript") }).toEqual({ id: r.id, ts: true });
      const cwe = [r.metadata?.cwe ?? []].flat();
      expect({ id: r.id, cwe: cwe.length > 0 && cwe.every((c) => /^CWE-\d+: \S/.test(c)) }).toEqual({
        id: r.id,
        cwe: true,
      });
    }
  });

  test("every ast-grep rule is an error (so any finding fails CI) on TypeScript", () => {
    for (const r of astGrep)
      expect({ id: r.id, severity: r.severity, language: r.language }).toEqual({
        id: r.id,
        severity: "error",
        language: "TypeScript",
      });
  });
});

describe("fixtures", () => {
  test("every rule has at least one ruleid and one ok fixture; annotations name known rules", () => {
    for (const a of annotated)
      expect({ rule: a.rule, known: ids.includes(a.rule) }).toEqual({ rule: a.rule, known: true });
    for (const id of ids) {
      const has = (kind: string) => annotated.some((a) => a.rule === id && a.kind === kind);
      expect({ id, ruleid: has("ruleid"), ok: has("ok") }).toEqual({ id, ruleid: true, ok: true });
    }
  });

  test("ast-grep reports exactly the ruleid lines of every fixture", () => {
    const { findings, stderr } = astGrepScan([join("tests", "semgrep", "fixtures")]);
    expect(stderr).not.toContain("Cannot parse");
    const key = (f: string, rule: string, line: number) => `${f}:${line} ${rule}`;
    const expected = new Set(
      annotated.filter((a) => a.kind === "ruleid").map((a) => key(a.file, a.rule, a.line)),
    );
    const actual = new Set(findings.map((f) => key(f.file, f.ruleId, f.line)));
    const missed = [...expected].filter((k) => !actual.has(k)).sort();
    const falseHits = [...actual].filter((k) => !expected.has(k)).sort();
    expect({ missed, falseHits }).toEqual({ missed: [], falseHits: [] });
    // the ok lines are explicitly clean (a subset of the check above, named for a clearer failure)
    const okHits = annotated
      .filter((a) => a.kind === "ok")
      .map((a) => key(a.file, a.rule, a.line))
      .filter((k) => actual.has(k));
    expect(okHits).toEqual([]);
    expect(expected.size).toBeGreaterThanOrEqual(ids.length);
  });
});
