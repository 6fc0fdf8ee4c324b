/** Build a Report from a run's processes (and, when recorded, samples and system metrics). */
import { type ProcessFigures, addFigures, figuresOf, newSums, peakRssAt } from "../steps/_rollup.ts";
import { withSampled } from "../steps/_sampled.ts";
import type { RunSampled, Step, StepProcess } from "../steps/index.ts";
import { MAX_TREE_STEPS, heaviestByStep } from "./_top.ts";
import type { Report, ReportRun, SystemPoint, Totals } from "./types.ts";

/** points of the memory plot at most (a day sampled every second is 86,400 instants) */
export const MAX_MEMORY_POINTS = 600;

export interface ReportInput {
  run: ReportRun;
  /** the run's processes: a list, or as columns (src/steps/_columns.ts: a report of the store reads those) */
  processes: StepProcess[] | ProcessFigures;
  /** steps made with their samples (groupColumns, then sampleSteps) */
  steps: Step[];
  /** the run's sampled memory (sampleSteps); none: no samples */
  sampled?: RunSampled;
  system: SystemPoint[];
  pricePerHour?: number;
}

const figures = (p: ReportInput["processes"]): ProcessFigures => (Array.isArray(p) ? figuresOf(p) : p);

export function totals(i: ReportInput): Totals {
  const f = figures(i.processes);
  // one pass over the processes for every sum and every count of unknown figures
  const sums = newSums();
  const every = new Int32Array(f.n);
  for (let k = 0; k < f.n; k++) {
    every[k] = k;
    addFigures(sums, f, k);
  }
  const { cpuUs, readBytes, writeBytes, rchar, wchar, unknown } = sums;
  let failedSteps = 0;
  for (const s of i.steps) if (s.failed) failedSteps++;
  const wallMs = i.run.endedAt === null ? null : i.run.endedAt - i.run.startedAt;
  const price = i.pricePerHour ?? null;
  return {
    wallMs,
    cpuHours: cpuUs / 3.6e9,
    ...withSampled(peakRssAt(f, every), i.sampled?.peakKb ?? 0),
    readBytes,
    writeBytes,
    rchar,
    wchar,
    unknown,
    processes: f.n,
    steps: i.steps.length,
    failedSteps,
    pricePerHour: price,
    cost: price === null || wallMs === null ? null : Math.round((wallMs / 3.6e6) * price * 1e4) / 1e4,
  };
}

/** The report; `detail` adds what only the HTML report draws (the memory series, each step's heaviest processes). */
export function buildReport(i: ReportInput, detail = false): Report {
  const r: Report = { run: i.run, steps: i.steps, totals: totals(i), system: i.system };
  if (detail) {
    // already at most MAX_MEMORY_POINTS (sampleSteps thins it as it reads)
    r.memory = i.sampled?.series ?? [];
    r.top = heaviestByStep(figures(i.processes), i.steps.slice(0, MAX_TREE_STEPS));
  }
  return r;
}
