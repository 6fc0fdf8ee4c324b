/**
 * Every accepted finding is documented, and every documented exception still exists: inline
 * `ast-grep-ignore` + `nosemgrep` comments in the scanned tree ⇔ rows of docs/SECURITY_ROADMAP.md.
 * Also proves the CI gate (tools/ast-grep/scan.sh) fails on a planted violation, passes once it carries
 * a well-formed exception, and fails again on a stale suppression.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { ROOT, cleanupTemp, tempDir } from "../helpers/harness.ts";
import { crossCheck, parseExceptions, roadmapRows } from "./_exceptions.ts";
import { SCAN_SCOPE, astGrepScan, semgrepRules, tsFiles } from "./_rules.ts";

afterAll(cleanupTemp);

const RULES = semgrepRules().map((r) => r.id);
const ROADMAP = join(ROOT, "docs", "SECURITY_ROADMAP.md");
const GATE = join(ROOT, "tools", "ast-grep", "scan.sh");

function treeExceptions() {
  const files = SCAN_SCOPE.flatMap((d) => tsFiles(join(ROOT, d)));
  const parsed = files.map((f) => parseExceptions(f, readFileSync(join(ROOT, f), "utf8"), RULES));
  return {
    files,
    exceptions: parsed.flatMap((p) => p.exceptions),
    problems: parsed.flatMap((p) => p.problems),
  };
}

const DOC = (rows: string) =>
  [
    "# Roadmap",
    "## Existing security issues and mitigations",
    "### Self-spawn",
    "| `src/spawn/index.ts` | `fd` | another table of the section: not exception rows |",
    "### Accepted static-analysis exceptions",
    "| File | Rule | Reasoning | Proof |",
    "|---|---|---|---|",
    `${rows}### Known gaps`,
    "| `src/gaps.ts` | `shell-injection` | a later subsection: not exception rows |",
    "## Roadmap",
    "| `src/elsewhere.ts` | `dynamic-code-eval` | another section: not exception rows |",
    "",
  ].join("\n");
const SRC = [
  "export function f(code: string) {",
  "  // ast-grep-ignore: dynamic-code-eval",
  "  return eval(code); // nosemgrep: dynamic-code-eval -- the fixture's accepted reason",
  "}",
].join("\n");

describe("the consistency check itself (fails both ways)", () => {
  test("an exception with its row passes", () => {
    const { exceptions, problems } = parseExceptions("src/a.ts", SRC, RULES);
    expect(problems).toEqual([]);
    expect(exceptions).toEqual([
      { file: "src/a.ts", line: 3, rules: ["dynamic-code-eval"], reason: "the fixture's accepted reason" },
    ]);
    const { rows } = roadmapRows(DOC("| `src/a.ts` | `dynamic-code-eval` | why | test |\n"));
    expect(rows).toEqual([{ file: "src/a.ts", rule: "dynamic-code-eval" }]);
    expect(crossCheck(exceptions, rows)).toEqual([]);
  });

  test("an inline exception without a row fails", () => {
    const { exceptions } = parseExceptions("src/a.ts", SRC, RULES);
    const problems = crossCheck(exceptions, roadmapRows(DOC("")).rows);
    expect(problems).toEqual([
      'src/a.ts:3: exception for dynamic-code-eval has no row in docs/SECURITY_ROADMAP.md "Existing security issues and mitigations"',
    ]);
  });

  test("a row pointing at an exception that no longer exists fails", () => {
    const { rows } = roadmapRows(DOC("| `src/gone.ts` | `shell-injection` | why | test |\n"));
    expect(crossCheck([], rows)).toEqual([
      "docs/SECURITY_ROADMAP.md row `src/gone.ts` `shell-injection` points at an exception that no longer exists",
    ]);
  });

  test("a roadmap without the section or its exceptions table is itself a failure", () => {
    expect(roadmapRows("# Roadmap\n").problems).toEqual([
      'docs/SECURITY_ROADMAP.md has no "## Existing security issues and mitigations" section',
    ]);
    expect(roadmapRows("## Existing security issues and mitigations\n\ntext\n").problems).toEqual([
      '"Existing security issues and mitigations" has no "### Accepted static-analysis exceptions" subsection',
    ]);
  });

  test("half-written exceptions are refused: no reason, one comment of the pair, unknown rule, bare ignore", () => {
    const cases: [string, RegExp][] = [
      [
        "// ast-grep-ignore: dynamic-code-eval\neval(x); // nosemgrep: dynamic-code-eval",
        /malformed nosemgrep/,
      ],
      ["eval(x); // nosemgrep: dynamic-code-eval -- reason", /without "\/\/ ast-grep-ignore/],
      ["// ast-grep-ignore: dynamic-code-eval\neval(x);", /without "\/\/ nosemgrep/],
      [
        "// ast-grep-ignore: no-such-rule\neval(x); // nosemgrep: no-such-rule -- reason",
        /unknown rule "no-such-rule"/,
      ],
      ["// ast-grep-ignore\neval(x); // nosemgrep -- reason", /malformed ast-grep-ignore/],
      [
        "// ast-grep-ignore: shell-injection\neval(x); // nosemgrep: dynamic-code-eval -- reason",
        /without "\/\/ nosemgrep: shell-injection/,
      ],
    ];
    for (const [text, expected] of cases) {
      const { problems } = parseExceptions("src/a.ts", text, RULES);
      expect({ text, problems: problems.join("\n") }).toEqual({
        text,
        problems: expect.stringMatching(expected),
      });
    }
  });
});

describe("the repository", () => {
  test("every inline exception in src/ ffi/ scripts/ is well formed and has its roadmap row, and vice versa", () => {
    const { files, exceptions, problems } = treeExceptions();
    expect(files.length).toBeGreaterThan(20);
    const doc = roadmapRows(readFileSync(ROADMAP, "utf8"));
    expect(doc.problems).toEqual([]);
    expect([...problems, ...crossCheck(exceptions, doc.rows)]).toEqual([]);
  });

  test("every inline exception still suppresses a real finding of its rule", () => {
    const { exceptions } = treeExceptions();
    // copy each file with its ignore lines blanked (same relative path, so rule scoping still applies)
    const dir = tempDir("tracer-exceptions-");
    for (const file of new Set(exceptions.map((e) => e.file))) {
      const lines = readFileSync(join(ROOT, file), "utf8").split("\n");
      for (const e of exceptions.filter((x) => x.file === file)) lines[e.line - 2] = "";
      mkdirSync(dirname(join(dir, file)), { recursive: true });
      writeFileSync(join(dir, file), lines.join("\n"));
    }
    const { findings } = astGrepScan(["."], { cwd: dir });
    const found = new Set(findings.map((f) => `${f.file}:${f.line} ${f.ruleId}`));
    const stale = exceptions
      .flatMap((e) => e.rules.map((r) => `${e.file}:${e.line} ${r}`))
      .filter((k) => !found.has(k));
    expect(stale).toEqual([]);
  });
});

describe("the CI gate (tools/ast-grep/scan.sh)", () => {
  const gate = (dir: string) => {
    const p = Bun.spawnSync(["bash", GATE, "src"], { cwd: dir, stdout: "pipe", stderr: "pipe" });
    return { code: p.exitCode, out: p.stdout.toString() + p.stderr.toString() };
  };
  const plant = (text: string) => {
    const dir = tempDir("tracer-gate-");
    mkdirSync(join(dir, "src", "cli"), { recursive: true });
    writeFileSync(join(dir, "src", "cli", "planted.ts"), text);
    return dir;
  };

  test("passes on the repository as it is (every finding carries a documented exception)", () => {
    const p = Bun.spawnSync(["bash", GATE], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
    const out = p.stdout.toString() + p.stderr.toString();
    expect({ code: p.exitCode, errors: out.split("\n").filter((l) => l.includes("error[")) }).toEqual({
      code: 0,
      errors: [],
    });
  });

  test("fails on a planted violation", () => {
    const r = gate(plant("export const f = (code: string) => eval(code);\n"));
    expect(r.code).toBe(1);
    expect(r.out).toContain("src/cli/planted.ts:1");
    expect(r.out).toContain("error[dynamic-code-eval]");
  });

  test("passes when the same line carries a documented-form exception", () => {
    const r = gate(plant(`${SRC}\n`));
    expect(r.out).not.toContain("error[");
    expect(r.code).toBe(0);
  });

  test("fails on a stale suppression (the ignored code is gone)", () => {
    const r = gate(
      plant(
        "// ast-grep-ignore: dynamic-code-eval\nexport const f = 1; // nosemgrep: dynamic-code-eval -- gone\n",
      ),
    );
    expect(r.code).toBe(1);
    expect(r.out).toContain("unused-suppression");
  });
});
