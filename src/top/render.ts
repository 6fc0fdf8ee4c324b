/**
 * The pure renderer of `tracer top`: a Snapshot and the view's state → the lines of one screen. Every
 * cell of recorded text (run, step and pipeline names, commands) goes through sanitize() here, and each
 * line is cut to the terminal's width by display width (wide characters count two) before any colour
 * code is added.
 */
import { formatDuration } from "../core/output.ts";
import { sanitize } from "../core/sanitize.ts";
import { peakFormLegends } from "../report/table.ts";
import { shortRunId } from "../run/format.ts";
import { bytes } from "../run/units.ts";
import type { Snapshot, TopProcess, TopRun, TopStep } from "./types.ts";

export const SORT_KEYS = ["cpu", "rss", "io", "elapsed", "name"] as const;
export type SortKey = (typeof SORT_KEYS)[number];

export interface View {
  sort: SortKey;
  /** key of the selected step row (interactive only) */
  selected?: string;
  /** keys of the expanded step rows; `"all"`: every running step (the one-shot snapshot) */
  expanded: ReadonlySet<string> | "all";
  /** columns and rows of the screen; Infinity: no limit (a snapshot to a pipe) */
  width: number;
  height: number;
  color: boolean;
  interactive: boolean;
}

export interface Screen {
  lines: string[];
  /** step row keys in screen order: what ↑/↓ move through */
  keys: string[];
}

/** Display width of a string (East Asian wide and emoji count two). */
const widthOf = (s: string) => Bun.stringWidth(s);

/** `s` cut to `w` columns, ending in "…" when cut. */
export function fit(s: string, w: number): string {
  if (widthOf(s) <= w) return s;
  if (w <= 0) return "";
  let out = "";
  let used = 0;
  for (const ch of s) {
    const cw = widthOf(ch);
    if (used + cw > w - 1) break;
    out += ch;
    used += cw;
  }
  return `${out}…`;
}
const padEnd = (s: string, w: number) => s + " ".repeat(Math.max(0, w - widthOf(s)));
const padStart = (s: string, w: number) => " ".repeat(Math.max(0, w - widthOf(s))) + s;

const pct = (v: number | null) => (v === null ? "-" : `${v < 10 ? v.toFixed(1) : v.toFixed(0)}%`);
const kb = (v: number | null) => (v === null ? "-" : bytes(v * 1024));
const rate = (v: number | null) => (v === null ? "-" : `${bytes(Math.round(v))}/s`);
const elapsed = (ms: number | null) => (ms === null ? "-" : formatDuration(ms));

/** fixed columns after the name: header, width (RSS's: at least, widened to an ended step's peak range) */
const COLS: [string, number][] = [
  ["STATE", 10],
  ["ELAPSED", 8],
  ["CPU%", 6],
  ["RSS", 8],
  ["I/O", 10],
  ["PROCS", 6],
  ["EXIT", 10],
];
const RSS = COLS.findIndex(([h]) => h === "RSS");

/** The columns of a snapshot: RSS as wide as its widest ended step's peak ("198MiB–215MiB") */
function columnsOf(snap: Snapshot): { cols: [string, number][]; fixed: number } {
  let rssW = COLS[RSS]![1];
  for (const r of snap.runs) for (const s of r.steps) if (s.peak) rssW = Math.max(rssW, widthOf(s.peak));
  const cols = COLS.map(([h, w], i): [string, number] => [h, i === RSS ? rssW : w]);
  return { cols, fixed: 2 + 6 + cols.reduce((n, [, w]) => n + w + 1, 0) };
}

function numeric(s: TopStep | TopProcess, key: SortKey): number {
  if (key === "cpu") return s.cpuPct ?? -1;
  if (key === "rss") return s.rssKb ?? -1;
  if (key === "io") return s.ioRate ?? -1;
  return s.elapsedMs ?? -1;
}
const byKey =
  (key: SortKey, label: (x: TopStep | TopProcess) => string) =>
  (a: TopStep | TopProcess, b: TopStep | TopProcess) =>
    key === "name" ? label(a).localeCompare(label(b)) : numeric(b, key) - numeric(a, key);

const GROUP: Record<TopStep["state"], number> = { running: 0, failed: 1, unfinished: 2, done: 3 };

/** Steps in screen order: running, then failed, then the others; within each group by the sort key. */
export function orderSteps(steps: readonly TopStep[], key: SortKey): TopStep[] {
  const cmp = byKey(key, (x) => (x as TopStep).name);
  return [...steps].sort(
    (a, b) => GROUP[a.state] - GROUP[b.state] || cmp(a, b) || b.startedAt - a.startedAt || a.index - b.index,
  );
}

/** the widest step name (and, when every running step is open, process line) of a snapshot */
function widestName(snap: Snapshot, withProcesses: boolean): number {
  let w = 18; // "(outside any step)"
  for (const r of snap.runs) {
    for (const s of r.steps) {
      w = Math.max(w, widthOf(sanitize(s.name)));
      if (withProcesses && s.state === "running")
        for (const p of s.live) w = Math.max(w, widthOf(sanitize(`${p.pid} ${p.command}`)) + 2);
    }
    for (const p of r.other) w = Math.max(w, widthOf(sanitize(`${p.pid} ${p.command}`)) + 2);
  }
  return w;
}

function runLines(r: TopRun, nameW: number, cols: [string, number][]): string[] {
  const head =
    r.status === "running"
      ? `running ${elapsed(r.elapsedMs)}`
      : r.status === "interrupted"
        ? `interrupted after ${elapsed(r.elapsedMs)} (the recorder died)`
        : `${r.status} in ${elapsed(r.elapsedMs)} · exit ${r.exit}`;
  const host = r.host
    ? `host cpu ${pct(r.host.cpuPct)} · mem ${kb(r.host.memUsedKb)} of ${kb(r.host.memTotalKb)}` +
      (r.host.memUsedKb !== null && r.host.memTotalKb
        ? ` (${pct((100 * r.host.memUsedKb) / r.host.memTotalKb)})`
        : "")
    : "host -";
  const failed = r.failed ? ` · ${r.failed} failed` : "";
  // a run no longer recorded: its processes with no end recorded are not followed, not known alive
  const procs = r.notFollowed
    ? `0 live · ${r.notFollowed} with no end recorded, not followed after the recording stopped`
    : `${r.liveProcesses} live`;
  return [
    sanitize(`run ${r.name} (${shortRunId(r.id)}) · pipeline ${r.pipeline} · ${head} · ${r.mode}`),
    host,
    `steps ${r.running} running · ${r.done} done${failed} · processes ${r.processes} (${procs})`,
    `  ${padEnd("#", 5)} ${padEnd("STEP", nameW)} ${cols.map(([h, w]) => (h === "STATE" || h === "EXIT" ? padEnd(h, w) : padStart(h, w))).join(" ")}`.trimEnd(),
  ];
}

/** The pseudo-step holding the live processes no step contains (the pipeline's own shell). */
const outsideRow = (r: TopRun): TopStep => ({
  key: `${r.id}:other`,
  index: 0,
  name: "(outside any step)",
  state: "running",
  startedAt: 0,
  elapsedMs: 0,
  cpuPct: r.other.reduce((n, p) => n + (p.cpuPct ?? 0), 0),
  rssKb: r.other.reduce((n, p) => n + (p.rssKb ?? 0), 0),
  ioRate: r.other.reduce((n, p) => n + (p.ioRate ?? 0), 0),
  processes: r.other.length,
  exit: "",
  live: r.other,
});

/** A name or command in a snapshot to a pipe: at most this many columns, then "…" */
export const SNAPSHOT_CELL_COLUMNS = 4096;

/**
 * A step's row after its marker: index, name (sanitised, then `cut` to the name column: render's, which
 * lets a snapshot's name go on past it), then the fixed columns.
 */
function stepCells(
  s: TopStep,
  nameW: number,
  cols: [string, number][],
  cut: (s: string, w: number) => string,
): string {
  const cells = [
    s.index ? s.state : "",
    s.index ? elapsed(s.elapsedMs) : "",
    pct(s.cpuPct),
    s.peak ?? kb(s.rssKb),
    rate(s.ioRate),
    String(s.processes),
    s.exit,
  ];
  const fixed = cols.map(([, w], i) => (i === 0 || i === 6 ? padEnd(cells[i]!, w) : padStart(cells[i]!, w)));
  return `${padEnd(s.index ? String(s.index) : "", 5)} ${padEnd(cut(sanitize(s.name), nameW), nameW)} ${fixed.join(" ")}`;
}

/** The lines of one screen. Pure: same snapshot and view, same lines. */
export function render(snap: Snapshot, view: View): Screen {
  const paint = (code: string, s: string) => (view.color ? `\x1b[${code}m${s}\x1b[0m` : s);
  const { cols, fixed } = columnsOf(snap);
  const nameW = Math.max(
    12,
    Number.isFinite(view.width)
      ? view.width - fixed
      : Math.min(80, widestName(snap, view.expanded === "all")),
  );
  const W = Number.isFinite(view.width) ? view.width : Number.POSITIVE_INFINITY;
  // a snapshot to a pipe is not cut to a width (docs/CLI.md): names and commands past the aligned column
  // go on, that row's figures after them, up to SNAPSHOT_CELL_COLUMNS (300 live 64 KiB command lines
  // made a 22 MB snapshot: an attack)
  const cuts = Number.isFinite(view.width);
  const cut = (s: string, w: number) => fit(s, cuts ? w : Math.max(w, SNAPSHOT_CELL_COLUMNS));
  const time = new Date(snap.at).toISOString().slice(11, 19);
  const top = view.interactive
    ? `tracer top · ${time} UTC · sort ${view.sort} (s) · ↑↓ select · enter expand · q quit`
    : `tracer top · ${new Date(snap.at).toISOString().slice(0, 19).replace("T", " ")} UTC`;
  const body: { text: string; key?: string; style?: string }[] = [];
  if (snap.note) body.push({ text: sanitize(snap.note) });
  if (!snap.runs.length && !snap.note) body.push({ text: "no active run (start one: tracer run -- CMD)" });
  const isOpen = (s: TopStep) => (view.expanded === "all" ? s.state === "running" : view.expanded.has(s.key));
  const procRow = (p: TopProcess) =>
    `         ${padEnd(cut(sanitize(`${p.pid} ${p.command}`), nameW - 2), nameW - 2)} ` +
    [
      padEnd("", 10),
      padStart(elapsed(p.elapsedMs), 8),
      padStart(pct(p.cpuPct), 6),
      padStart(kb(p.rssKb), cols[RSS]![1]),
      padStart(rate(p.ioRate), 10),
    ].join(" ");
  for (const r of snap.runs) {
    if (body.length) body.push({ text: "" });
    for (const l of runLines(r, nameW, cols)) body.push({ text: l });
    const rows = orderSteps(r.steps, view.sort);
    if (r.other.length) rows.push(outsideRow(r));
    for (const s of rows) {
      const mark = view.interactive ? (isOpen(s) ? "▾" : s.live.length ? "▸" : " ") : " ";
      const text = `${mark} ${stepCells(s, nameW, cols, cut)}`;
      const style = s.state === "failed" ? "31" : s.state === "running" && s.index ? "32" : undefined;
      body.push({ text: text.trimEnd(), key: s.key, style });
      if (isOpen(s)) {
        const procs = [...s.live].sort(byKey(view.sort, (x) => (x as TopProcess).command));
        for (const p of procs) body.push({ text: procRow(p).trimEnd() });
        if (!procs.length) body.push({ text: "         (no live process)" });
      }
    }
    if (r.hidden) body.push({ text: `  … ${r.hidden} earlier ended steps (tracer report lists every step)` });
  }
  // what an ended step's peak range or lower bound means, as `tracer report` says it under its table
  const legends = peakFormLegends(
    snap.runs.flatMap((r) => r.steps.flatMap((s) => (s.peak ? [s.peak] : []))),
    "RSS",
  );
  if (legends.length) body.push({ text: "" }, ...legends.map((text) => ({ text })));
  const keys = body.flatMap((b) => (b.key ? [b.key] : []));
  // keep the selected row on screen: the body scrolls below the top line
  const room = Number.isFinite(view.height) ? Math.max(1, view.height - 1) : body.length;
  const sel = view.selected === undefined ? -1 : body.findIndex((b) => b.key === view.selected);
  let from = 0;
  if (body.length > room) from = Math.max(0, Math.min(sel - room + 2, body.length - room));
  const shown = body.slice(from, from + room);
  if (from + room < body.length)
    shown[shown.length - 1] = { text: `… ${body.length - from - room + 1} more lines` };
  const lines = [paint("1", fit(top, W))];
  for (const b of shown) {
    const t = fit(b.text, W);
    if (b.key !== undefined && b.key === view.selected)
      lines.push(paint("7", padEnd(t, Number.isFinite(W) ? W : 0)));
    else lines.push(b.style ? paint(b.style, t) : t);
  }
  return { lines, keys };
}
