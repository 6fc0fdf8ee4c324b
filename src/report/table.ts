/** The TTY table: the run header, the totals line, one row per step. */
import { runHeader } from "../run/format.ts";
import { type Cell, hiddenNote, paint, wrapText, writeTable } from "../run/table.ts";
import { bytes, cpuText, exitText, seconds } from "../run/units.ts";
import { stepLabels } from "./_labels.ts";
import { stepColumnWidths } from "./_widths.ts";
import type { Step } from "../steps/index.ts";
import type { Report } from "./types.ts";
import { plural } from "../core/plural.ts";
import { dfgOnly } from "../core/jit-tier.ts";

/**
 * A peak that samples may have missed shows its upper bound too: "301MiB–601MiB" (sampled peak, the
 * most it can have been); one the bounds pin down shows alone.
 */
export function peakText(p: { peakRssKb: number; peakRssUpperKb: number; peakRssExact: boolean }): string {
  const seen = bytes(p.peakRssKb * 1024);
  if (p.peakRssExact) return seen;
  // no upper bound (a process's peak unknown): at least what was seen
  if (!Number.isFinite(p.peakRssUpperKb)) return `≥${seen}`;
  // a range whose ends print alike ("38MiB–38MiB") says nothing more than one figure
  const upper = bytes(p.peakRssUpperKb * 1024);
  return upper === seen ? seen : `${seen}–${upper}`;
}

/**
 * A sum over processes some of which have the figure unknown: "-" when none has it, "≥X" when some
 * lack it (the sum is a lower bound), the sum itself when all have it. Unknown is never shown as 0.
 */
export function sumText(
  value: number,
  unknown: number,
  processes: number,
  fmt: (n: number) => string,
): string {
  if (processes > 0 && unknown >= processes) return "-";
  return unknown > 0 ? `≥${fmt(value)}` : fmt(value);
}

type Summed = "readBytes" | "writeBytes" | "rchar" | "wchar";

/** A step's summed byte figure: "-" when none of its processes has it, "≥X" when some lack it. */
export const stepBytes = (s: Step, field: Summed): string =>
  sumText(s[field], s.unknown?.[field] ?? 0, s.processIds.length, bytes);
/** A step's CPU time, "-"/"≥" as stepBytes. */
export const stepCpu = (s: Step): string =>
  sumText(s.cpuUs, s.unknown?.cpu ?? 0, s.processIds.length, cpuText);
/** A step's peak, "-" when none of its processes' peak is known and none was sampled. */
export const stepPeak = (s: Step): string =>
  s.peakRssKb === 0 && (s.unknown?.peakRss ?? 0) >= s.processIds.length ? "-" : peakText(s);

/** A step's CPU, PEAK RSS, READ, WRITE, DISK READ and DISK WRITE cells (FIGURE_HEADS after EXIT). */
export const stepFigureCells = (s: Step): string[] => [
  stepCpu(s),
  stepPeak(s),
  stepBytes(s, "rchar"),
  stepBytes(s, "wchar"),
  stepBytes(s, "readBytes"),
  stepBytes(s, "writeBytes"),
];

export function totalsLines(r: Report): string[] {
  const t = r.totals;
  const u = t.unknown;
  const n = t.processes;
  const b = (v: number, k: number) => sumText(v, k, n, bytes);
  const peak =
    n > 0 && u.peakRss >= n && t.peakRssKb === 0
      ? "-"
      : t.peakRssExact
        ? b(t.peakRssKb * 1024, u.peakRss)
        : !Number.isFinite(t.peakRssUpperKb)
          ? `≥${bytes(t.peakRssKb * 1024)}`
          : `${bytes(t.peakRssKb * 1024)} sampled, at most ${bytes(t.peakRssUpperKb * 1024)}`;
  const cpu = sumText(Math.round(t.cpuHours * 3.6e9), u.cpu, n, cpuText);
  const lines = [
    `totals    wall ${t.wallMs === null ? (r.run.status === "running" ? "- (running)" : "-") : seconds(t.wallMs * 1000)}, CPU ${cpu}, peak memory ${peak}`,
    `I/O       read ${b(t.rchar, u.rchar)} (disk ${b(t.readBytes, u.readBytes)}), written ${b(t.wchar, u.wchar)} (disk ${b(t.writeBytes, u.writeBytes)})`,
    `steps     ${t.steps} (${t.failedSteps} failed) from ${plural(t.processes, "process", "processes")}`,
  ];
  if (t.cost !== null)
    lines.push(`cost      ${t.cost.toFixed(4)} at ${t.pricePerHour} per hour of wall time`);
  return lines;
}

/** The table report as one string (ending in a newline). */
/**
 * The figure columns the step table and the process table share, in this order, between the first
 * column (# or PID) and the last ones: START, WALL, EXIT, CPU, PEAK RSS, the process's own bytes
 * (READ/WRITE: rchar/wchar) and storage bytes (DISK READ/WRITE: read_bytes/write_bytes).
 */
export const FIGURE_HEADS = [
  "START",
  "WALL",
  "EXIT",
  "CPU",
  "PEAK RSS",
  "READ",
  "WRITE",
  "DISK READ",
  "DISK WRITE",
] as const;

/**
 * The FIGURE_HEADS columns a narrow table leaves out first (positions, after the first column), so
 * that the step's or the command's name keeps its room: DISK WRITE, DISK READ, WRITE, READ, START,
 * then PEAK RSS and CPU (at 60 columns the COMMAND column had 4–14 left: newcomer). WALL and EXIT stay.
 */
export const FIGURES_LEFT_OUT_FIRST = [9, 8, 7, 6, 1, 5, 4] as const;

export function renderTable(r: Report, width = Number.POSITIVE_INFINITY): string {
  const parts: string[] = [];
  writeReportTable(r, (c) => parts.push(c), width);
  return parts.join("");
}

/**
 * A step's start after the run's, "+S.SSSs". The root process's fork event can come a few ms before
 * the run row's own timestamp (two clocks): shown as +0.000s, as the process table does (proctable.ts).
 */
export const startOffset = (stepStartMs: number, runStartMs: number) =>
  `+${(Math.max(0, stepStartMs - runStartMs) / 1000).toFixed(3)}s`;

/** the step table's columns of tracer's own text (OWN_TEXT): all but STEP, the step's label */
const OWN_COLUMNS: ReadonlySet<number> = new Set([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);

/** Step `i`'s row of the step table: #, the FIGURE_HEADS cells, PROCS, then `label` (its STEP cell). */
export function stepCells(r: Report, i: number, label: string): Cell[] {
  const s = r.steps[i]!;
  const exit = exitText(s.exitCode, s.signal, s.oomKilled);
  return [
    String(s.index),
    !Number.isFinite(s.startedAt) ? "-" : startOffset(s.startedAt, r.run.startedAt),
    s.durationMs === null ? "-" : seconds(s.durationMs * 1000),
    s.failed ? (s.oomKilled ? paint.oom : paint.failed)(`FAILED ${exit}`) : exit,
    ...stepFigureCells(s),
    String(s.processIds.length),
    label,
  ];
}

/**
 * Why a run has no steps: CMD itself never ran (exit 126/127 and no process recorded: tracer said why
 * on stderr when it ran), or no rule matched what did run.
 */
function noSteps(r: Report): string {
  const code = r.run.exitCode;
  if (r.totals.processes === 0 && r.run.signal === null && (code === 126 || code === 127))
    return `nothing was recorded: the command could not be run (exit ${code}: ${code === 127 ? "not found" : "not executable"})`;
  return "no steps recognized (tracer rules test -- CMD shows why; see docs/RULES.md)";
}

/**
 * The table report written in chunks to `out` (a 50,000-step run's table is never one string);
 * `width`: the widest a step row may be, in terminal columns (the STEP column is cut); `labels`: the
 * steps' display labels (stepLabels).
 */
export function writeReportTable(
  r: Report,
  out: (chunk: string) => void,
  width = Number.POSITIVE_INFINITY,
  labels = stepLabels(r.steps),
): void {
  const stepRow = (i: number): Cell[] => stepCells(r, i, labels[i]!);
  const head = ["#", ...FIGURE_HEADS, "PROCS", "STEP"];
  out(
    `${[runHeader(r.run, width), ...totalsLines(r).map((l) => wrapText(l, width, 10)), "", ""].join("\n")}`,
  );
  if (r.steps.length) {
    // PROCS (10) goes after the storage bytes
    const [dw, dr, ...rest] = FIGURES_LEFT_OUT_FIRST;
    const hidden = writeTable(
      head,
      r.steps.length,
      stepRow,
      new Set([0, 1, 2, 4, 5, 6, 7, 8, 9, 10]),
      out,
      width,
      stepColumnWidths(r),
      OWN_COLUMNS,
      undefined,
      [dw, dr, 10, ...rest],
    );
    out(hiddenNote(hidden, width));
  } else out(`${noSteps(r)}\n`);
  for (const l of peakLegends(r.steps)) out(`\n${wrapText(l, width)}\n`);
}

/** What the steps' PEAK RSS forms other than an exact figure mean, one line each as they occur (table and HTML). */
export const peakLegends = (steps: readonly Step[]): string[] =>
  peakFormLegends(steps.filter((s) => !s.peakRssExact).map(stepPeak), "PEAK RSS");

/**
 * What the forms of peak figures other than an exact one mean ("a–b", "≥a"), one line for each form
 * among `peaks` (the texts stepPeak made), the column named `column` (`tracer top` calls it RSS).
 */
export function peakFormLegends(peaks: readonly string[], column: string): string[] {
  const out: string[] = [];
  if (peaks.some((p) => p.includes("–")))
    out.push(
      `${column} a–b: a the most seen (sampled, or one process's own peak), b the most its processes alive together can have held (docs/CAPTURE.md)`,
    );
  if (peaks.some((p) => p.startsWith("≥")))
    out.push(
      `${column} ≥a: a the most seen; no bound, a process's peak unknown (still running, an image an exec replaced not seen, or known only from /proc samples: docs/CAPTURE.md)`,
    );
  return out;
}

// a row per step of a 50,000-step run: DFG code is fast enough, FTL's compile is not paid back (src/core/jit-tier.ts)
dfgOnly(peakText, sumText, stepBytes, stepCpu, stepPeak, stepFigureCells, startOffset, stepCells);
