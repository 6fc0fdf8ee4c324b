/**
 * Accepted static-analysis exceptions and their documentation.
 *
 * An inline exception is exactly two lines:
 *     // ast-grep-ignore: RULE-ID
 *     <the flagged code>  // nosemgrep: RULE-ID -- <one-line reason>
 * (ast-grep only honours an ignore comment on the line above; semgrep honours `nosemgrep` on the
 * flagged line itself.) Each (file, rule) with an inline exception needs a row in the table of the
 * "Existing security issues and mitigations" section of docs/SECURITY_ROADMAP.md:
 *     | `src/file.ts` | `rule-id` | reasoning | mitigation / test |
 */

export interface InlineException {
  file: string;
  /** 1-based line of the flagged code (the line carrying `nosemgrep`) */
  line: number;
  rules: string[];
  reason: string;
}

export interface RoadmapRow {
  file: string;
  rule: string;
}

const IGNORE = /^\s*\/\/ ast-grep-ignore: ([a-z0-9-]+(?:, [a-z0-9-]+)*)\s*$/;
const NOSEMGREP = /\/\/ nosemgrep: ([a-z0-9-]+(?:, [a-z0-9-]+)*) -- (\S.*?)\s*$/;

/** Parse one source file: its well-formed exceptions and every malformed or half-written one. */
export function parseExceptions(
  file: string,
  text: string,
  knownRules: readonly string[],
): { exceptions: InlineException[]; problems: string[] } {
  const lines = text.split("\n");
  const exceptions: InlineException[] = [];
  const problems: string[] = [];
  const unknown = (rules: string[], at: string) => {
    for (const r of rules) if (!knownRules.includes(r)) problems.push(`${at}: unknown rule "${r}"`);
  };
  lines.forEach((l, i) => {
    const at = `${file}:${i + 1}`;
    if (l.includes("ast-grep-ignore")) {
      const m = IGNORE.exec(l);
      if (!m) {
        problems.push(`${at}: malformed ast-grep-ignore (expected "// ast-grep-ignore: RULE-ID" alone)`);
        return;
      }
      const next = NOSEMGREP.exec(lines[i + 1] ?? "");
      if (!next || next[1] !== m[1])
        problems.push(
          `${at}: ast-grep-ignore: ${m[1]} without "// nosemgrep: ${m[1]} -- reason" on the next line`,
        );
    }
    if (l.includes("nosemgrep")) {
      const m = NOSEMGREP.exec(l);
      if (!m) {
        problems.push(`${at}: malformed nosemgrep (expected "// nosemgrep: RULE-ID -- reason")`);
        return;
      }
      const rules = m[1]!.split(", ");
      unknown(rules, at);
      const prev = IGNORE.exec(lines[i - 1] ?? "");
      if (!prev || prev[1] !== m[1]) {
        problems.push(`${at}: nosemgrep: ${m[1]} without "// ast-grep-ignore: ${m[1]}" on the line above`);
        return;
      }
      exceptions.push({ file, line: i + 1, rules, reason: m[2]! });
    }
  });
  return { exceptions, problems };
}

export const ROADMAP_SECTION = "## Existing security issues and mitigations";
export const EXCEPTIONS_HEADING = "### Accepted static-analysis exceptions";

/**
 * The exception rows of docs/SECURITY_ROADMAP.md: the table rows naming `file` and `rule` under
 * EXCEPTIONS_HEADING, inside ROADMAP_SECTION (other tables of the document are not exception rows).
 */
export function roadmapRows(markdown: string): { rows: RoadmapRow[]; problems: string[] } {
  const section = between(markdown, ROADMAP_SECTION, /^## /m);
  if (section === undefined)
    return { rows: [], problems: [`docs/SECURITY_ROADMAP.md has no "${ROADMAP_SECTION}" section`] };
  const table = between(section, EXCEPTIONS_HEADING, /^##+ /m);
  if (table === undefined)
    return {
      rows: [],
      problems: [`"${ROADMAP_SECTION.slice(3)}" has no "${EXCEPTIONS_HEADING}" subsection`],
    };
  const rows: RoadmapRow[] = [];
  for (const l of table.split("\n")) {
    const m = /^\|\s*`([^`]+\.[a-z]+)`\s*\|\s*`([a-z0-9-]+)`\s*\|/.exec(l);
    if (m) rows.push({ file: m[1]!, rule: m[2]! });
  }
  return { rows, problems: [] };
}

/** The text after the line `heading` up to the next line matching `end`; undefined without the heading. */
function between(text: string, heading: string, end: RegExp): string | undefined {
  const lines = text.split("\n");
  const at = lines.indexOf(heading);
  if (at < 0) return undefined;
  const rest = lines.slice(at + 1).join("\n");
  const stop = rest.search(end);
  return stop < 0 ? rest : rest.slice(0, stop);
}

/** Both directions: an inline exception without a row, and a row without an inline exception. */
export function crossCheck(exceptions: InlineException[], rows: RoadmapRow[]): string[] {
  const problems: string[] = [];
  const key = (file: string, rule: string) => `${file} ${rule}`;
  const documented = new Set(rows.map((r) => key(r.file, r.rule)));
  const inline = new Set(exceptions.flatMap((e) => e.rules.map((r) => key(e.file, r))));
  for (const e of exceptions)
    for (const r of e.rules)
      if (!documented.has(key(e.file, r)))
        problems.push(
          `${e.file}:${e.line}: exception for ${r} has no row in docs/SECURITY_ROADMAP.md "${ROADMAP_SECTION.slice(3)}"`,
        );
  for (const r of rows)
    if (!inline.has(key(r.file, r.rule)))
      problems.push(
        `docs/SECURITY_ROADMAP.md row \`${r.file}\` \`${r.rule}\` points at an exception that no longer exists`,
      );
  return problems;
}
