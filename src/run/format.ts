/** Text for `tracer run`'s summary, `tracer runs` and the minimal `tracer report`. */
import { bold, red, yellow } from "../core/output.ts";
import { sanitize } from "../core/sanitize.ts";
import { youngCollector } from "../core/young.ts";
import { CUT_TAIL, withCutMark } from "../steps/_cut.ts";
import { preorderOf, walkDepths } from "../steps/_tree.ts";
import type { ProcessRow, RunRow } from "../store/index.ts";
import { plural } from "../core/plural.ts";
import type { LeftoversEnded } from "./supervisor.ts";
import { dfgOnly } from "../core/jit-tier.ts";

const UNITS = ["B", "KiB", "MiB", "GiB", "TiB"];

export function bytes(n: number | null | undefined): string {
  if (n === null || n === undefined) return "-";
  let v = n;
  let i = 0;
  while (v >= 1024 && i < UNITS.length - 1) {
    v /= 1024;
    i++;
  }
  if (i === 0) return `${v}B`;
  // A whole number of bytes over a power of 1024 is exact (a binary fraction), and so are v × 10 and
  // the rounding below while v < 1024: the digits toFixed gives (ties round up), without toFixed (a
  // table of 50,000 steps formats some 300,000 sizes).
  if (v < 1024 && Number.isSafeInteger(n) && n > 0) {
    if (v >= 10) return `${Math.round(v)}${UNITS[i]}`;
    const tenths = Math.round(v * 10);
    return `${(tenths - (tenths % 10)) / 10}.${tenths % 10}${UNITS[i]}`;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)}${UNITS[i]}`;
}

export function seconds(us: number | null | undefined): string {
  if (us === null || us === undefined) return "-";
  const s = us / 1e6;
  return s < 10 ? `${s.toFixed(3)}s` : s < 600 ? `${s.toFixed(1)}s` : `${Math.round(s)}s`;
}

/** CPU time for a reader: ms under a second, seconds under an hour, then hours ("-" when unknown). */
export function cpuText(us: number | null | undefined): string {
  if (us === null || us === undefined) return "-";
  if (us < 1e6) return `${Math.round(us / 1000)}ms`;
  if (us < 3.6e9) return seconds(us);
  return `${(us / 3.6e9).toFixed(2)}h`;
}

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

/** Linux's signal names, 1–31 (the same numbers on x86-64 and arm64, the hosts tracer records on) */
const SIGNAL_NAMES = [
  "",
  "SIGHUP",
  "SIGINT",
  "SIGQUIT",
  "SIGILL",
  "SIGTRAP",
  "SIGABRT",
  "SIGBUS",
  "SIGFPE",
  "SIGKILL",
  "SIGUSR1",
  "SIGSEGV",
  "SIGUSR2",
  "SIGPIPE",
  "SIGALRM",
  "SIGTERM",
  "SIGSTKFLT",
  "SIGCHLD",
  "SIGCONT",
  "SIGSTOP",
  "SIGTSTP",
  "SIGTTIN",
  "SIGTTOU",
  "SIGURG",
  "SIGXCPU",
  "SIGXFSZ",
  "SIGVTALRM",
  "SIGPROF",
  "SIGWINCH",
  "SIGIO",
  "SIGPWR",
  "SIGSYS",
];

/** A signal's name ("SIGKILL"), or "signal N" for a real-time or unknown number. */
export const signalName = (n: number): string => SIGNAL_NAMES[n] || `signal ${n}`;

/** How a process or run ended: "0", "1", "SIGKILL" (killed by it), "OOM killed", or "?" (not known). */
export function exitText(
  code: number | null | undefined,
  signal: number | null | undefined,
  oom = false,
): string {
  if (oom) return "OOM killed";
  if (signal !== null && signal !== undefined) return signalName(signal);
  if (code !== null && code !== undefined) return String(code);
  return "?";
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

const when = (ms: number) => new Date(ms).toISOString().replace("T", " ").slice(0, 19);

/**
 * A run id as tables and messages show it: a UUIDv7's first 13 characters (its 48-bit millisecond
 * timestamp), distinct for runs started a millisecond apart and a prefix `tracer report` accepts.
 */
export const shortRunId = (id: string): string => id.slice(0, 13);

/**
 * The longest command `tracer runs` shows, in characters: the table cuts it to the terminal's width
 * (fitTable); this bounds `--width 0` and what a line can cost (a recorded command line is CMD's argv,
 * any length).
 */
const RUNS_COMMAND_MAX = 1000;

/** the runs table's columns that give way at a narrow width, least wanted first (ID, NAME and STATUS stay) */
const RUNS_LEFT_OUT_FIRST = ["PROCS", "STARTED (UTC)", "PIPELINE", "EXIT", "WALL"] as const;

/**
 * `tracer runs`'s table, fitted to `width` terminal columns as the report's step table is: its figure
 * columns give way (RUNS_LEFT_OUT_FIRST) before the COMMAND column is cut below LAST_MIN_WIDTH;
 * `leftOut` names them (hiddenNote).
 */
export function runsTable(
  runs: RunRow[],
  width = Number.POSITIVE_INFINITY,
): { text: string; leftOut: string[] } {
  const rows = runs.map((r) => [
    shortRunId(r.id),
    r.name,
    r.pipeline,
    when(r.startedAt),
    r.endedAt === null ? "-" : seconds((r.endedAt - r.startedAt) * 1000),
    r.status === "failed"
      ? paint.failed(r.status)
      : r.status === "interrupted" || r.status === "aborted"
        ? paint.warn(r.status)
        : r.status,
    exitCell(r.exitCode, r.signal),
    String(r.processes),
    runCommand(r, RUNS_COMMAND_MAX),
  ]);
  return fitTable(
    ["ID", "NAME", "PIPELINE", "STARTED (UTC)", "WALL", "STATUS", "EXIT", "PROCS", "COMMAND"],
    rows,
    new Set([4, 7]),
    width,
    RUNS_LEFT_OUT_FIRST,
  );
}

/** A process as the process table needs it (a store ProcessRow fits). */
export type TableProcess = Pick<
  ProcessRow,
  | "id"
  | "pid"
  | "parentId"
  | "argv"
  | "comm"
  | "startedAt"
  | "durationUs"
  | "exitCode"
  | "signal"
  | "oomKilled"
  | "userUs"
  | "systemUs"
  | "peakRssKb"
  | "readBytes"
  | "writeBytes"
  | "rchar"
  | "wchar"
> &
  Partial<Pick<ProcessRow, "argvTruncated" | "argvBytes">>;

const byStart = (a: TableProcess, b: TableProcess) => (a.startedAt ?? 0) - (b.startedAt ?? 0) || a.id - b.id;

/**
 * Processes in tree order: each parent followed by its children, siblings by start time; `depth[k]` is
 * order[k]'s depth. Iterative (a chain of processes can be 100,000 deep) and linear after one sort
 * (none when the list is in start order already, as the store returns it).
 */
export function treeOrder<P extends TableProcess>(procs: P[]): { order: P[]; depth: Int32Array } {
  let sorted = procs;
  for (let i = 1; i < procs.length; i++)
    if (byStart(procs[i - 1]!, procs[i]!) > 0) {
      sorted = [...procs].sort(byStart);
      break;
    }
  // the tree and walk order the steps were grouped from, when this is the same list (treeOf)
  const at = preorderOf(sorted).order;
  const order = new Array<P>(at.length);
  for (let k = 0; k < at.length; k++) order[k] = sorted[at[k]!]!;
  return { order, depth: walkDepths(sorted, at) };
}

/** Deeper than this, the COMMAND column is not indented further: the depth is shown as `[+N]`. */
export const MAX_INDENT = 32;
const INDENT = "  ".repeat(MAX_INDENT);
/** The COMMAND column's indentation for a depth: two spaces a level, capped at MAX_INDENT levels. */
export const indent = (depth: number) =>
  depth <= MAX_INDENT ? INDENT.slice(0, 2 * depth) : `${INDENT}[+${depth - MAX_INDENT}] `;

/**
 * One line, at most `max` characters (cut at a character, not inside one): a command as the table shows
 * it. `cutBytes`: the recorded argv is only the head of a command line of that many bytes, which the
 * line then says (after the `max` cut, so it always shows).
 */
export function commandLine(
  argv: string[] | null,
  comm: string | null,
  max = 100,
  cutBytes?: number,
): string {
  const line = shortLine(argv, comm, max);
  return withCutMark(line, cutBytes);
}

function shortLine(argv: string[] | null, comm: string | null, max: number): string {
  // each argument sanitised first, so a tab or newline inside one shows as `\t` / `\n`
  const joined = argv?.length ? argv.map(sanitize).join(" ") : `[${sanitize(comm ?? "?")}]`;
  // whitespace collapsed and trimmed; most lines are tidy already (single spaces between words):
  // tested, not rebuilt (`\s+` matches each single space, and the line was built again)
  const s = UNTIDY.test(joined) ? joined.replace(/\s+/g, " ").trim() : joined;
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

/** text that collapsing and trimming whitespace would change: whitespace at an end, two together, or not a space */
const UNTIDY = /^\s|\s$|\s\s|[^\S ]/;

/** A run's command; a daemon run has none of its own: it records what its rules match. */
const runCommand = (r: RunRow, max: number) =>
  r.command.length ? commandLine(r.command, null, max) : "(daemon run: processes its rules matched)";

const lossDetail = (r: RunRow) => {
  if (!r.eventsLost && !r.recovered) return "";
  const why = Object.entries(r.lossReasons ?? {}).map(([k, n]) => `${k} ${n}`);
  if (r.recovered) why.push(`${plural(r.recovered, "process", "processes")} recovered from taskstats`);
  return ` (${why.join(", ")}; see docs/CAPTURE.md)`;
};

/** A run's status in words: "aborted (SIGINT)" names the signal the run was asked to stop with. */
export const runStatus = (r: Pick<RunRow, "status" | "stopSignal">): string =>
  r.status === "aborted" && r.stopSignal ? `aborted (${signalName(r.stopSignal)})` : r.status;

export function runHeader(r: RunRow, width = Number.POSITIVE_INFINITY): string {
  // a run still recording: the time it has run so far (a newcomer saw `wall -`)
  const wall =
    r.endedAt !== null
      ? seconds((r.endedAt - r.startedAt) * 1000)
      : r.status === "running"
        ? `${seconds(Math.max(0, Date.now() - r.startedAt) * 1000)} so far`
        : "-";
  const lines = [
    `run       ${r.name} (${r.id})`,
    `pipeline  ${r.pipeline}`,
    `command   ${runCommand(r, 200)}`,
    `started   ${when(r.startedAt)} UTC on ${r.host}, wall ${wall}`,
    `status    ${runStatus(r)}, exit ${exitText(r.exitCode, r.signal)}`,
    r.mode === "proc-poll"
      ? `capture   proc-poll: ${POLL_GAPS}, argv lost: ${r.argvLost ?? 0}`
      : `capture   ${r.mode}, events lost: ${r.eventsLost}${lossDetail(r)}, argv lost: ${r.argvLost ?? 0}`,
  ];
  // wrapped to the width, a value's further lines under its first (the field names take 10 columns)
  const text = lines.map((l) => wrapText(sanitize(l), width, 10)).join("\n");
  // status and exit are tracer's own words: coloured after sanitising
  if (r.status === "aborted")
    return text.replace(/^status {4}(aborted[^,]*),/m, (_, st: string) => `status    ${yellow(st, 1)},`);
  if (r.status !== "failed") return text;
  return text.replace(
    /^status {4}failed, exit (.*)$/m,
    (_, exit: string) => `status    ${red("failed", 1)}, exit ${red(exit, 1)}`,
  );
}

/** What `tracer run`'s closing line needs (a TraceResult fits). */
export interface RunSummary {
  runId: string;
  name: string;
  processes: number;
  mode: string;
  lost: number;
  /** processes of the tree still alive when the run ended (CMD had exited; nobody waited for them) */
  running?: number;
  /** the run's stored wall (ms), as `runs` and `report` show it; else CMD's */
  wallMs?: number;
  child: {
    startedAt: number;
    endedAt: number;
    exitCode?: number;
    signal?: number;
    stopSignal?: number;
    /** what --kill-leftovers signalled */
    leftovers?: LeftoversEnded;
  };
  /** the run's end was written (false: the final write failed); `stored`: its row exists all the same */
  finished?: boolean;
  stored?: boolean;
}

/** where to read the run: its report, or why there is none (the final write failed, said just before) */
const where = (r: RunSummary): string => {
  if (r.finished !== false) return `tracer report ${shortRunId(r.runId)}`;
  return r.stored
    ? `NOT FINISHED: the store could not be written; tracer report ${shortRunId(r.runId)} shows it up to then`
    : "NOT RECORDED: the store could not be written";
};

/**
 * What proc-poll mode cannot see (docs/CAPTURE.md): it reads /proc every 50 ms (src/observe/poll.ts),
 * so it has no events to count as lost — "events lost: 0" read as "complete" (found by a newcomer)
 */
const POLL_GAPS = "a /proc walk every 50 ms, a process that starts and ends between two walks is not seen";

/** What --kill-leftovers did, as a line of its own after the closing line ("" when it had nothing to stop). */
function leftoversLine(l: LeftoversEnded | undefined): string {
  if (!l?.terminated) return "";
  const forked = l.forkedDuringGrace ? ` (${l.forkedDuringGrace} of them forked during it)` : "";
  const kill = l.killed ? `, SIGKILL after the grace to ${l.killed}${forked}` : "";
  const stuck = l.remaining ? `; ${l.remaining} still running after SIGKILL` : "";
  return `\ntracer: --kill-leftovers: CMD left ${plural(l.terminated, "process", "processes")} running; SIGTERM to ${l.terminated}${kill}${stuck}`;
}

/** `tracer run`'s closing line on stderr; the run's name is recorded data, so the line is sanitised. */
export function summaryLine(r: RunSummary): string {
  const wall = seconds((r.wallMs ?? r.child.endedAt - r.child.startedAt) * 1000);
  const loss = r.lost ? `, ${plural(r.lost, "event")} LOST` : "";
  const { exitCode, signal, stopSignal } = r.child;
  const aborted =
    stopSignal && !(exitCode === 0 && signal === undefined) ? `aborted (${signalName(stopSignal)}), ` : "";
  const line = `tracer: run ${r.name}: ${plural(r.processes, "process", "processes")}, ${wall}, ${aborted}exit ${exitText(exitCode, signal)}, capture ${r.mode}${r.mode === "proc-poll" ? " (short processes can be missed)" : ""}${loss} (${where(r)})`;
  // processes CMD left behind run on unrecorded from here (their rows: no end, no status)
  const left = r.running
    ? `\ntracer: ${plural(r.running, "process", "processes")} of the run still running when it ended, no longer recorded (tracer run --kill-leftovers stops them)`
    : "";
  return sanitize(line) + leftoversLine(r.child.leftovers) + left;
}

// a report formats some 300,000 cells of a 50,000-step run with these (src/core/jit-tier.ts)
dfgOnly(bytes, seconds, cpuText, exitText, columns, PLAIN.test, cellColumns, spaces);
