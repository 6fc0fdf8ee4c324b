/**
 * The security documents stay true: every proof they cite as `tests/FILE.test.ts › name › name` must
 * name an existing test file and describe/test names that exist in it. A reference that starts with
 * `› ` continues the last file cited before it; a name ending in `…` is a prefix.
 */
import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "../helpers/harness.ts";

const DOCS = ["SECURITY.md", "docs/SECURITY_ROADMAP.md", "docs/THREAT_MODEL.md"];

export interface Citation {
  doc: string;
  file: string;
  names: string[];
}

/** Every `tests/… › …` citation of a markdown text, in order (line breaks inside a span are spaces). */
export function citations(doc: string, text: string): Citation[] {
  const out: Citation[] = [];
  let file = "";
  const prose = text.replace(/^```[\s\S]*?^```/gm, "");
  for (const m of prose.matchAll(/`([^`]+)`/g)) {
    const span = m[1]!.replace(/\s+/g, " ").trim();
    const parts = span.split(/ ?› /);
    if (/^tests\/[\w./-]+\.test\.ts$/.test(parts[0]!)) file = parts[0]!;
    else if (parts[0] !== "" || parts.length < 2 || !file) continue;
    out.push({ doc, file, names: parts.slice(1).map((n) => n.replace(/^… /, "")) });
  }
  return out;
}

/** The names a test file can give its tests: its string literals, templates and `%s` as wildcards. */
export function namesIn(source: string): ((name: string) => boolean)[] {
  const out: ((name: string) => boolean)[] = [];
  for (const m of source.matchAll(/(["'`])((?:\\.|(?!\1)[^\\\n])*)\1/g)) {
    const raw = m[2]!.replace(/\\(.)/g, "$1");
    const pattern = raw
      .split(/\$\{[^}]*\}|%[sdifjop#]/)
      .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"))
      .join(".+");
    const re = new RegExp(`^${pattern}$`);
    out.push((name) => (name.endsWith("…") ? raw.startsWith(name.slice(0, -1)) : re.test(name)));
  }
  return out;
}

function problemsOf(cites: Citation[]): string[] {
  const problems: string[] = [];
  for (const c of cites) {
    const path = join(ROOT, c.file);
    if (!existsSync(path)) {
      problems.push(`${c.doc}: ${c.file} does not exist`);
      continue;
    }
    const names = namesIn(readFileSync(path, "utf8"));
    for (const n of c.names)
      if (!names.some((matches) => matches(n))) problems.push(`${c.doc}: ${c.file} has no test named "${n}"`);
  }
  return problems;
}

describe("citations in the security documents", () => {
  test("the parser reads files, continuations, elisions and templates (and can fail)", () => {
    const cites = citations(
      "x.md",
      "`tests/semgrep/exceptions.test.ts › the CI gate (tools/ast-grep/scan.sh) › fails on a planted violation`, " +
        "`› passes when the same line carries a documented-form exception`, `› … fails on a stale suppression (the ignored code is gone)`, " +
        "`tests/semgrep/fixtures.test.ts › rule sets › no such test`, `tests/nope.test.ts › x`, `src/a.ts`\n```ts\n`x`\n```\n`› after a code block`",
    );
    expect(cites.map((c) => [c.file, c.names.length])).toEqual([
      ["tests/semgrep/exceptions.test.ts", 2],
      ["tests/semgrep/exceptions.test.ts", 1],
      ["tests/semgrep/exceptions.test.ts", 1],
      ["tests/semgrep/fixtures.test.ts", 2],
      ["tests/nope.test.ts", 1],
      ["tests/nope.test.ts", 1],
    ]);
    expect(problemsOf(cites)).toEqual([
      'x.md: tests/semgrep/fixtures.test.ts has no test named "no such test"',
      "x.md: tests/nope.test.ts does not exist",
      "x.md: tests/nope.test.ts does not exist",
    ]);
    const names = namesIn(
      // a template placeholder as it appears in test source: "$" + "{spawn}"
      `test(\`one changed byte (${"$"}{spawn} strategy)\`); describe.each([1])("spawn %s (forced)");`,
    );
    expect(names.some((m) => m("one changed byte (fd strategy)"))).toBe(true);
    expect(names.some((m) => m("spawn fd (forced)"))).toBe(true);
    expect(names.some((m) => m("spawn (forced)"))).toBe(false);
    expect(names.some((m) => m("one changed …"))).toBe(true);
  });

  test.each(DOCS)("%s cites only tests that exist", (doc) => {
    const text = readFileSync(join(ROOT, doc), "utf8");
    const cites = citations(doc, text);
    expect(cites.length).toBeGreaterThan(doc === "SECURITY.md" ? 0 : 10);
    expect(problemsOf(cites)).toEqual([]);
  });
});
