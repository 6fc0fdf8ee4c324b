/**
 * The step table's column widths from the steps' numbers, without formatting a cell: each function
 * gives the terminal columns of what its formatter (src/run/units.ts, ./table.ts) prints for the same
 * value. Where counting digits cannot be exact in a cheap way (a value near a rounding carry, a
 * negative or fractional figure, hours of CPU) it formats the value and measures that, so every width
 * is the formatter's own. A 50,000-step table measured this way skips 550,000 cell strings.
 */
import { columns } from "../run/table.ts";
import { bytes, cpuText, exitText, seconds, signalName } from "../run/units.ts";
import { dfgOnly } from "../core/jit-tier.ts";
import type { Step } from "../steps/index.ts";
import type { Report } from "./types.ts";

/** columns of the non-ASCII marks the figures use ("≥" lower bound, "–" range): measured, not assumed */
const GE = columns("≥");
const DASH = columns("–");
const UNITS = ["B", "KiB", "MiB", "GiB", "TiB"];

/** Characters of String(n). */
export function intColumns(n: number): number {
  if (!Number.isSafeInteger(n) || n < 0) return String(n).length;
  let d = 1;
  for (let v = n; v >= 10; v = Math.floor(v / 10)) d++;
  return d;
}

/** Columns of bytes(n). */
export function bytesColumns(n: number | null | undefined): number {
  if (n === null || n === undefined) return 1;
  if (!Number.isSafeInteger(n) || n < 0) return bytes(n).length;
  if (n < 1024) return intColumns(n) + 1;
  let v = n;
  let i = 0;
  while (v >= 1024 && i < UNITS.length - 1) {
    v /= 1024;
    i++;
  }
  if (v >= 1024) return bytes(n).length;
  const unit = UNITS[i]!.length;
  if (v >= 10) return intColumns(Math.round(v)) + unit;
  const tenths = Math.round(v * 10);
  return intColumns((tenths - (tenths % 10)) / 10) + 2 + unit;
}

/** Columns of seconds(us). */
export function secondsColumns(us: number | null | undefined): number {
  if (us === null || us === undefined) return 1;
  const s = us / 1e6;
  // below these bounds toFixed cannot round up into one more integer digit
  if (s >= 0 && s < 9.999) return 6; // "d.ddds"
  if (s >= 10 && s < 99.9) return 5; // "dd.ds"
  if (s >= 100 && s < 599.9) return 6; // "ddd.ds"
  if (s >= 600 && s < 1e15) return intColumns(Math.round(s)) + 1;
  return seconds(us).length;
}

/** Columns of cpuText(us). */
export function cpuColumns(us: number | null | undefined): number {
  if (us === null || us === undefined) return 1;
  if (us >= 0 && us < 1e6) return intColumns(Math.round(us / 1000)) + 2;
  if (us >= 1e6 && us < 3.6e9) return secondsColumns(us);
  return cpuText(us).length;
}

/** Columns of table.ts's startOffset(stepStartMs, runStartMs): "+S.SSSs". */
export function offsetColumns(stepStartMs: number, runStartMs: number): number {
  const x = Math.max(0, stepStartMs - runStartMs) / 1000;
  const whole = Math.floor(x);
  // under .999 past a whole number, three decimals cannot carry into it
  if (x < 1e15 && x - whole < 0.999) return intColumns(whole) + 6;
  return `+${x.toFixed(3)}s`.length;
}

/** Columns of table.ts's sumText(value, unknown, processes, fmt), given fmt's columns. */
export function sumColumns(
  value: number,
  unknown: number,
  processes: number,
  fmt: (n: number) => number,
): number {
  if (processes > 0 && unknown >= processes) return 1;
  return unknown > 0 ? GE + fmt(value) : fmt(value);
}

type Summed = "readBytes" | "writeBytes" | "rchar" | "wchar";

const stepBytesColumns = (s: Step, field: Summed) =>
  sumColumns(s[field], s.unknown?.[field] ?? 0, s.processIds.length, bytesColumns);

/** Columns of table.ts's stepPeak(s). */
function stepPeakColumns(s: Step): number {
  if (s.peakRssKb === 0 && (s.unknown?.peakRss ?? 0) >= s.processIds.length) return 1;
  const seen = bytesColumns(s.peakRssKb * 1024);
  if (!s.peakRssExact && !Number.isFinite(s.peakRssUpperKb)) return seen + 1; // "≥"
  if (s.peakRssExact || bytes(s.peakRssKb * 1024) === bytes(s.peakRssUpperKb * 1024)) return seen;
  return seen + DASH + bytesColumns(s.peakRssUpperKb * 1024);
}

/** Columns of the step table's EXIT cell: "FAILED " before a failed step's exit text. */
function exitColumns(s: Step): number {
  const n = s.oomKilled
    ? 10
    : s.signal !== null && s.signal !== undefined
      ? signalName(s.signal).length
      : s.exitCode !== null && s.exitCode !== undefined
        ? intColumns(s.exitCode)
        : exitText(s.exitCode, s.signal, s.oomKilled).length;
  return s.failed ? 7 + n : n;
}

/**
 * The widest cell of each step-table column but the last (#, START … DISK WRITE, PROCS), in terminal
 * columns, over every step of `r`: what writeTable's width pass would find (headings not included).
 */
export function stepColumnWidths(r: Report): number[] {
  const w = new Array<number>(11).fill(0);
  const up = (c: number, n: number) => {
    if (n > w[c]!) w[c] = n;
  };
  for (const s of r.steps) {
    up(0, intColumns(s.index));
    up(1, Number.isFinite(s.startedAt) ? offsetColumns(s.startedAt, r.run.startedAt) : 1);
    up(2, s.durationMs === null ? 1 : secondsColumns(s.durationMs * 1000));
    up(3, exitColumns(s));
    up(4, sumColumns(s.cpuUs, s.unknown?.cpu ?? 0, s.processIds.length, cpuColumns));
    up(5, stepPeakColumns(s));
    up(6, stepBytesColumns(s, "rchar"));
    up(7, stepBytesColumns(s, "wchar"));
    up(8, stepBytesColumns(s, "readBytes"));
    up(9, stepBytesColumns(s, "writeBytes"));
    up(10, intColumns(s.processIds.length));
  }
  return w;
}

// called for each step of the table (src/core/jit-tier.ts)
dfgOnly(
  intColumns,
  bytesColumns,
  secondsColumns,
  cpuColumns,
  offsetColumns,
  sumColumns,
  stepBytesColumns,
  stepPeakColumns,
  exitColumns,
);
