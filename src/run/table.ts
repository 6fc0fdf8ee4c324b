/**
 * Text tables for a terminal: cells measured in terminal columns, recorded data sanitised on its way
 * out, columns that give way at a narrow width, and text wrapped to it.
 */
import { bold, red, yellow } from "../core/output.ts";
import { sanitize } from "../core/sanitize.ts";
import { youngCollector } from "../core/young.ts";
import { dfgOnly } from "../core/jit-tier.ts";
import { CUT_TAIL } from "../steps/_cut.ts";
import { exitText } from "./units.ts";

/**
 * Terminal columns a cell takes: East Asian wide characters (CJK) and emoji take two, combining marks
 * none, colour codes none (Bun.stringWidth: native, no start-up cost, in the single binary).
 */
export const columns = (s: string): number =>
  s.length && /[^\x20-\x7e]/.test(s) ? Bun.stringWidth(s) : s.length;

/**
 * `s` cut to at most `max` terminal columns, ending in "…" when cut — the note that a command line was
 * cut kept whole at its end (its head shortened instead), so no width hides that there was more.
 */
export function fitCell(s: string, max: number): string {
  if (columns(s) <= max) return s;
  const m = s.includes(" …[") ? CUT_TAIL.exec(s) : null;
  if (!m) return fit(s, max);
  const head = s.slice(0, -m[0].length);
  // the whole note, or a shorter one in a narrow column ("…[cut: 70034 B]", "…[cut]"); narrower: cut
  for (const tail of [m[0], ` …[cut: ${m[1]} B]`, " …[cut]"])
    if (tail.length + 2 <= max) return fit(head, max - tail.length) + tail;
  return fit(s, max);
}

/** `s` cut to at most `max` terminal columns, ending in "…" when cut. */
export function fit(s: string, max: number): string {
  if (columns(s) <= max) return s;
  if (max <= 0) return "";
  let out = "";
  let w = 0;
  for (const ch of s) {
    const cw = columns(ch);
    if (w + cw > max - 1) break;
    out += ch;
    w += cw;
  }
  return `${out}…`;
}

/** A cell that is painted (coloured) after its text is sanitised. */
export interface Styled {
  text: string;
  paint: (s: string) => string;
}
/** A table cell: text that may be recorded data (sanitised by the table writer), or styled text. */
export type Cell = string | Styled;
/** printable ASCII: safe as it is (sanitize returns it unchanged) and one column a character */
const PLAIN = {
  // a loop, not a regex: every cell of a table is tested, most a few characters long
  test(s: string): boolean {
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c < 0x20 || c > 0x7e) return false;
    }
    return true;
  },
};
/** the columns a cell's sanitised text takes, with no second look at printable ASCII (most cells) */
const cellColumns = (c: Cell) => {
  const text = typeof c === "string" ? c : c.text;
  return PLAIN.test(text) ? text.length : columns(sanitize(text));
};

/** Colour for a table on stdout (see core/output.ts): failures red, OOM kills bold red. */
export const paint = {
  failed: (text: string): Styled => ({ text, paint: (s) => red(s, 1) }),
  oom: (text: string): Styled => ({ text, paint: (s) => bold(red(s, 1), 1) }),
  warn: (text: string): Styled => ({ text, paint: (s) => yellow(s, 1) }),
};

/** An exit cell: red unless it is a clean 0, bold red for an OOM kill. */
export function exitCell(
  code: number | null | undefined,
  signal: number | null | undefined,
  oom = false,
): Cell {
  const text = exitText(code, signal, oom);
  if (oom) return paint.oom(text);
  return text === "0" || text === "?" ? text : paint.failed(text);
}

/**
 * padding strings by width, each made once when first needed: no substring per padded cell (and not
 * all 257 at load: ~0.2 ms of cold code in every `tracer run`, which loads this module; issue 15)
 */
const PADS = new Array<string | undefined>(257);
function spaces(n: number): string {
  if (n > 256) return " ".repeat(n);
  let pad = PADS[n];
  if (pad === undefined) {
    pad = " ".repeat(n);
    PADS[n] = pad;
  }
  return pad;
}
/**
 * What a cell of tracer's own text may hold (writeTable's `own` columns): printable ASCII, and the
 * few signs its figures use ("–" between a peak's bounds, "≥" before a partial sum, "…"), each one
 * UTF-16 unit, one terminal column and left as it is by sanitize. Recorded data is never own text.
 */
export const OWN_TEXT = /^[\x20-\x7e–≥…]*$/;
const NONE: ReadonlySet<number> = new Set();
/** characters of table text handed to `out` at once */
const CHUNK = 1 << 16;

/**
 * A table written in chunks: columns padded to their widest cell (in terminal columns: a CJK character or
 * an emoji takes two), the last column not padded but cut so a line is at most `maxWidth` columns. Rows
 * come from `rowAt(i)`, called twice for each row: once for the widths (unless `widths` is given),
 * once for its line. No row is kept between the two passes, so memory stays bounded however many
 * rows there are (keeping 50,000
 * step rows, 600,000 strings, cost more in garbage collection and ~20 MB more peak RSS than building
 * each row again). Every cell of every table passes through here (one place to clean cell text). `out` gets
 * lines ending in "\n", some thousands at a time. `widths`: the widest cell of each column but the last,
 * in terminal columns, when the caller can tell them without formatting every cell (the step table:
 * src/report/_widths.ts); then rowAt is called once a row. `own`: the columns whose cells are tracer's
 * own text (figures, units, fixed words: see OWN_TEXT), taken as they are with no look at each cell
 * (testing a cell resolves its rope: ~30 ms of a 50,000-step table). `measureAt`: the row's cells for
 * the width pass in rowAt's place, the last one (never measured) left out — what makes the last cell
 * costs most in the process table (a command line parsed and cleaned). `dropOrder`: columns that may
 * be left out, least wanted first, while the last column would get fewer than LAST_MIN_WIDTH columns
 * of maxWidth (the last one names the row: a table of figures without the step's or the command's
 * name says nothing). Returns the headings of the columns left out (dropped, or pushed past the width
 * by wide columns before them).
 */
export function writeTable(
  head: string[],
  count: number,
  rowAt: (i: number) => Cell[],
  rightAligned: Set<number>,
  out: (chunk: string) => void,
  maxWidth = Number.POSITIVE_INFINITY,
  widths?: number[],
  own: ReadonlySet<number> = NONE,
  measureAt: (i: number) => Cell[] = rowAt,
  dropOrder: readonly number[] = [],
): string[] {
  const w = head.map(columns);
  const right = head.map((_, c) => rightAligned.has(c));
  const trusted = head.map((_, c) => own.has(c));
  const tick = youngCollector();
  if (widths) for (let c = 0; c < w.length - 1; c++) w[c] = Math.max(w[c]!, widths[c] ?? 0);
  else
    for (let i = 0; i < count; i++) {
      tick();
      const r = measureAt(i);
      for (let c = 0; c < w.length - 1; c++) {
        const cell = r[c] ?? "";
        const n = trusted[c] ? (typeof cell === "string" ? cell : cell.text).length : cellColumns(cell);
        if (n > w[c]!) w[c] = n;
      }
    }
  // what is left of maxWidth for the last column (never under 10 columns), once the columns that may
  // go have made room for it
  let before = 0;
  for (let c = 0; c < w.length - 1; c++) before += w[c]! + 2;
  const kept = head.map(() => true);
  for (const c of dropOrder) {
    if (before + LAST_MIN_WIDTH <= maxWidth) break;
    if (c >= w.length - 1 || !kept[c]) continue;
    kept[c] = false;
    before -= w[c]! + 2;
  }
  const lastWidth = Math.max(10, maxWidth - before);
  // the lines not yet handed to `out`, one string (concatenation, flattened once per chunk)
  let pending = "";
  const line = (r: Cell[]) => {
    let text = "";
    let used = 0;
    let first = true;
    for (let c = 0; c < r.length; c++) {
      if (!kept[c]) continue;
      const cell = r[c]!;
      const raw = typeof cell === "string" ? cell : cell.text;
      const plain = trusted[c]! || PLAIN.test(raw);
      const clean = plain ? raw : sanitize(raw);
      const last = c === r.length - 1;
      if (!first) {
        if (used + 3 > maxWidth) break; // no room for the separator and one column
        text += "  ";
        used += 2;
      }
      first = false;
      // printable ASCII is one column a character: within the width it is shown as it is
      let shown = !last || (plain && clean.length <= lastWidth) ? clean : fitCell(clean, lastWidth);
      // printable ASCII (and fit's "…") is one column a character: no second measure
      let shownCols = plain ? shown.length : columns(shown);
      let fill = last ? 0 : Math.max(0, w[c]! - shownCols);
      // the columns before the last can be wider than maxWidth leaves (a narrow --width): the cell that
      // crosses it is cut, unpadded, and ends the line, so no line is wider than asked
      const room = maxWidth - used;
      const cut = shownCols + fill > room;
      if (cut) {
        shown = fitCell(shown, Math.max(1, room));
        shownCols = columns(shown);
        fill = 0;
      }
      // colour goes around the sanitised text, padding outside it: escapes take no columns
      const painted = typeof cell === "string" ? shown : cell.paint(shown);
      if (fill && right[c]) text += spaces(fill);
      text += painted;
      if (fill && !right[c]) text += spaces(fill);
      used += shownCols + fill;
      if (cut) break;
    }
    // no whitespace at the end of a line
    pending += `${text.trimEnd()}\n`;
    if (pending.length >= CHUNK) {
      out(pending);
      pending = "";
    }
  };
  dfgOnly(line);
  line(head);
  for (let i = 0; i < count; i++) {
    tick();
    line(rowAt(i));
  }
  if (pending) out(pending);
  // left out: the columns dropped, and any a width narrower than the kept ones pushed off every line
  // (a line ends where a cell crosses the width: a column starting past it is not shown at all)
  let at = 0;
  let firstKept = true;
  const pushedOff = head.map(() => false);
  for (let c = 0; c < head.length; c++) {
    if (!kept[c]) continue;
    if (!firstKept) at += 2;
    firstKept = false;
    if (at + 1 > maxWidth) pushedOff[c] = true;
    at += c === head.length - 1 ? lastWidth : w[c]!;
  }
  return head.filter((_, c) => !kept[c] || pushedOff[c]);
}

/** the fewest terminal columns the last column of a table (a step's name, a command) is given while others can go */
const LAST_MIN_WIDTH = 28;

/**
 * Text wrapped at spaces to lines of at most `maxWidth` terminal columns, joined by "\n" (none at
 * the end); lines after the first start with `indent` spaces (a header's value under its own column). A word
 * wider than a line is split. The text must be sanitised already (no control characters).
 */
export function wrapText(text: string, maxWidth = Number.POSITIVE_INFINITY, indent = 0): string {
  if (!Number.isFinite(maxWidth) || columns(text) <= maxWidth) return text;
  const pad = " ".repeat(Math.min(indent, Math.max(0, maxWidth - 10)));
  let out = "";
  let line = "";
  let used = 0;
  const room = () => maxWidth - (out ? pad.length : 0);
  const flush = () => {
    out += `${out ? pad : ""}${line}\n`;
    line = "";
    used = 0;
  };
  for (let w of text.split(" ")) {
    let cols = columns(w);
    if (line && used + 1 + cols > room()) flush();
    // a word wider than a whole line: as much as fits, the rest on the next lines
    while (cols > room() - (line ? used + 1 : 0) && room() > 1) {
      const head = fit(w, room() - (line ? used + 1 : 0) + 1).slice(0, -1);
      if (!head) break;
      line = line ? `${line} ${head}` : head;
      flush();
      w = w.slice(head.length);
      cols = columns(w);
    }
    line = line ? `${line} ${w}` : w;
    used += (used ? 1 : 0) + cols;
  }
  if (line || !out) flush();
  return out.slice(0, -1);
}

/**
 * A note under a table that left columns out at this width (writeTable's dropOrder), or "". `showAll`:
 * what shows every column, as the command's options have it.
 */
export const hiddenNote = (
  heads: readonly string[],
  maxWidth = Number.POSITIVE_INFINITY,
  showAll = "--width, --format csv or json",
): string =>
  heads.length
    ? `${wrapText(`not shown at this width: ${heads.join(", ")} (${showAll} show every column)`, maxWidth)}\n`
    : "";

/** A whole table as one string (no trailing newline): writeTable into memory, for small tables. */
export function table(head: string[], rows: Cell[][], rightAligned: Set<number> = new Set()): string {
  return fitTable(head, rows, rightAligned).text;
}

/**
 * A small table fitted to `width` terminal columns as the report's is (writeTable): the columns named
 * in `leaveOut`, least wanted first, give way while the last one (the row's name) would get fewer than
 * LAST_MIN_WIDTH columns; `text` has no trailing newline, `leftOut` the headings of the columns left out
 * (for hiddenNote).
 */
export function fitTable(
  head: string[],
  rows: Cell[][],
  rightAligned: Set<number>,
  width = Number.POSITIVE_INFINITY,
  leaveOut: readonly string[] = [],
): { text: string; leftOut: string[] } {
  const parts: string[] = [];
  const leftOut = writeTable(
    head,
    rows.length,
    (i) => rows[i]!,
    rightAligned,
    (c) => parts.push(c),
    width,
    undefined,
    undefined,
    undefined,
    leaveOut.map((h) => {
      const c = head.indexOf(h);
      if (c < 0) throw new Error(`fitTable: no column ${h}`);
      return c;
    }),
  );
  return { text: parts.join("").slice(0, -1), leftOut };
}

// every cell of a 50,000-step report passes through these (src/core/jit-tier.ts)
dfgOnly(columns, PLAIN.test, cellColumns, spaces);
