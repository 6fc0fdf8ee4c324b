/**
 * CSV (RFC 4180): one row per step, the columns of the JSON report's steps.
 *
 * Cells hold recorded data, so each text cell is made safe for the programs that open a CSV:
 * - sanitised (src/core/sanitize.ts): no raw control character, tab or newline in any cell, so a
 *   row is always one line and `cat` shows no escape sequence;
 * - OWASP's rule for formula injection: a text cell that starts with `=`, `+`, `-`, `@`, tab or CR —
 *   also after leading whitespace, which spreadsheets skip — gets a leading `'` and is quoted, so
 *   `=HYPERLINK(…)` is shown, never evaluated. Numbers are written as numbers.
 * (csv-stringify's `escape_formulas` checks only the first character, not after whitespace, and
 * leaves control characters alone; quoting itself is three lines, so no library.)
 */
import { sanitize } from "../core/sanitize.ts";
import { dfgOnly } from "../core/jit-tier.ts";
import { youngCollector } from "../core/young.ts";
import { chunks, collect } from "./_chunks.ts";
import { stepJson } from "./json.ts";
import type { Report } from "./types.ts";

const COLUMNS = [
  "index",
  "name",
  "kind",
  "tool",
  "pid",
  "started_at",
  "ended_at",
  "duration_ms",
  "cpu_seconds",
  "cpu_pct",
  "peak_rss_bytes",
  "peak_rss_upper_bytes",
  "peak_rss_exact",
  "read_bytes",
  "write_bytes",
  "rchar",
  "wchar",
  "exit_code",
  "signal",
  "oom_killed",
  "failed",
  "processes",
  "workdir",
  "command",
] as const;

/**
 * cells a spreadsheet would read as a formula (OWASP CSV injection): after blanks, and after quotes (a reader
 * that honours quotes in the Nextflow trace, which has no quoting of its own, reads `"=1+1"` as =1+1:
 * an attack, 2 Dec 2026)
 */
const FORMULA = /^[\s"]*[=+\-@\t\r\uff1d\uff0b\uff0d\uff20]/;

/** Recorded text with a leading `'` when a spreadsheet would read it as a formula (TSV has no quoting to add). */
export const defuseFormula = (v: string): string => (FORMULA.test(v) ? `'${v}` : v);

/**
 * A `;` inside a cell followed (after blanks, or a quote) by what starts a formula: a spreadsheet
 * whose list separator is `;` (Excel in German, French, Dutch… locales; LibreOffice with Semicolon
 * ticked) splits the line there, whatever the quoting, and the piece after it is a cell of its own
 * (`x;=cmd|' /C calc'!A0` in a command line: an attack, 2 Dec 2026)
 */
const INNER_FORMULA = /;(\s*)(?=["\s]*[=+\-@\t\r\uff1d\uff0b\uff0d\uff20])/g;

/**
 * text csvField leaves as it is: printable ASCII without `"`, `,` or `;`, a first character that starts
 * no formula, and no space at either end (most cells: names, tools, times, paths)
 */
const AS_IS =
  /^[\x21\x23-\x2a\x2e-\x3a\x3c\x3e\x3f\x41-\x7e](?:[\x20\x21\x23-\x2b\x2d-\x3a\x3c-\x7e]*[\x21\x23-\x2b\x2d-\x3a\x3c-\x7e])?$/;

/**
 * One CSV cell: sanitised, formula-defused (at its start, and after every `;` a `;`-separated
 * spreadsheet would start a cell at), quoted when it holds `"` or `,`, was defused, or has a space at
 * an end.
 */
export function csvField(v: unknown): string {
  if (v === null || v === undefined) return "";
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  if (typeof v === "string" && AS_IS.test(v)) return v;
  let s = String(v);
  const formula = FORMULA.test(s);
  s = sanitize(s);
  if (s.includes(";")) s = s.replace(INNER_FORMULA, ";$1'");
  if (formula) s = `'${s}`;
  return formula || /[",]|^\s|\s$/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** The CSV written in chunks to `out`: a header line, then one line per step, each ending in CRLF. */
export function writeCsv(r: Report, out: (chunk: string) => void): void {
  const tick = youngCollector();
  const add = chunks(out);
  add(`${COLUMNS.join(",")}\r\n`);
  for (const s of r.steps) {
    tick();
    const j = stepJson(s) as Record<(typeof COLUMNS)[number], unknown>;
    let line = csvField(j[COLUMNS[0]]);
    for (let c = 1; c < COLUMNS.length; c++) line += `,${csvField(j[COLUMNS[c]!])}`;
    add(`${line}\r\n`);
  }
  add.end();
}

/** writeCsv as one string. */
export const renderCsv = (r: Report): string => collect((out) => writeCsv(r, out));

// once per step (writeCsv: one loop over them) or per cell of a report (src/core/jit-tier.ts)
dfgOnly(csvField, defuseFormula, writeCsv);
