/** Processes' figures as columns (src/steps/_columns.ts): what a roll-up reads, and a row made back from them. */
import { FIGURES, type Figure, type StepColumns, linesOf, num, orNull, peakFromSamples } from "./_columns.ts";
import type { StepProcess } from "./types.ts";

/**
 * The figures of a set of processes as columns (src/steps/_columns.ts): what a roll-up reads. The
 * functions below take such columns and the positions in them of the processes to roll up.
 */
export type Figures = Pick<
  StepColumns,
  Figure | "n" | "id" | "oomKilled" | "peakLower" | "imageStartedAt" | "execCpuUs" | "execAt" | "execPeakKb"
>;

/** A list of processes' figures as columns (NaN: not recorded), with their pids, parents and command lines. */
export function figuresOf(procs: readonly StepProcess[]): ProcessFigures {
  const n = procs.length;
  const f = {
    n,
    id: new Float64Array(n),
    pid: new Float64Array(n),
    parentId: new Float64Array(n),
    oomKilled: new Uint8Array(n),
    peakLower: new Uint8Array(n),
    // a list's own processes: no earlier image is told apart here (src/steps/_columns.ts finish does)
    imageStartedAt: new Float64Array(n).fill(Number.NaN),
    execCpuUs: new Float64Array(n).fill(Number.NaN),
    execAt: new Float64Array(n).fill(Number.NaN),
    execPeakKb: new Float64Array(n).fill(Number.NaN),
    lines: linesOf(procs),
  } as ProcessFigures;
  for (const k of FIGURES) f[k] = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const p = procs[i]!;
    f.id[i] = p.id;
    f.pid[i] = p.pid;
    f.parentId[i] = num(p.parentId);
    f.oomKilled[i] = p.oomKilled ? 1 : 0;
    f.peakLower[i] = peakFromSamples(p.figures);
    f.execAt[i] = num(p.execAt);
    f.execPeakKb[i] = num(p.execPeakRssKb);
    for (const k of FIGURES) f[k][i] = num(p[k]);
  }
  return f;
}

/** Figures with what a report shows of a process beside them: its pid, parent and command line. */
export type ProcessFigures = Figures & Pick<StepColumns, "pid" | "parentId" | "lines">;

/**
 * The process at position `i` of `f` as an object (its cwd not kept: null); `withLine` false: its
 * argv and comm null too (its command line not parsed).
 */
export const rowOf = (
  f: ProcessFigures,
  i: number,
  withLine = true,
): StepProcess & { durationUs: number | null } => ({
  id: f.id[i]!,
  pid: f.pid[i]!,
  parentId: orNull(f.parentId[i]!),
  comm: withLine ? f.lines.comm(i) : null,
  argv: withLine ? f.lines.argv(i) : null,
  cwd: null,
  startedAt: orNull(f.startedAt[i]!),
  endedAt: orNull(f.endedAt[i]!),
  durationUs: orNull(f.durationUs[i]!),
  exitCode: orNull(f.exitCode[i]!),
  signal: orNull(f.signal[i]!),
  oomKilled: f.oomKilled[i] === 1,
  oomLimitKb: orNull(f.oomLimitKb[i]!),
  userUs: orNull(f.userUs[i]!),
  systemUs: orNull(f.systemUs[i]!),
  peakRssKb: orNull(f.peakRssKb[i]!),
  rchar: orNull(f.rchar[i]!),
  wchar: orNull(f.wchar[i]!),
  readBytes: orNull(f.readBytes[i]!),
  writeBytes: orNull(f.writeBytes[i]!),
  ...cutOf(f, i, withLine),
});

/** argvTruncated and argvBytes of a process whose argv holds only the head of its command line */
function cutOf(
  f: ProcessFigures,
  i: number,
  withLine: boolean,
): Pick<StepProcess, "argvTruncated" | "argvBytes"> {
  const b = withLine ? f.lines.cutBytes(i) : undefined;
  return b === undefined ? {} : { argvTruncated: true, argvBytes: b };
}
