/** The report model every format renders: a run, its steps, totals and the host's metrics. */
import type { Step } from "../steps/index.ts";
import type { RunRow } from "../store/index.ts";
import type { StepTop } from "./_top.ts";
import type { UnknownCounts } from "../steps/types.ts";

/** the run as the store has it */
export type ReportRun = RunRow;

export interface Totals {
  wallMs: number | null;
  cpuHours: number;
  /** the run's summed RSS at its largest sampled instant, never less than one process's VmHWM */
  peakRssKb: number;
  /** the largest sum of per-process peaks of processes alive together; peakRssExact: the two meet */
  peakRssUpperKb: number;
  peakRssExact: boolean;
  readBytes: number;
  writeBytes: number;
  rchar: number;
  wchar: number;
  /** how many processes have each figure unknown (not recorded): a sum over them is a lower bound */
  unknown: UnknownCounts;
  processes: number;
  steps: number;
  failedSteps: number;
  pricePerHour: number | null;
  /** wall hours × price per hour */
  cost: number | null;
}

export interface SystemPoint {
  at: number;
  cpuPct: number | null;
  memUsedKb: number | null;
  memTotalKb: number | null;
}

/** One step's range over the pipeline's earlier runs (src/insight/history.ts), by step key. */
export interface StepRange {
  runs: number;
  wallMs: { min: number; max: number } | null;
  cpuUs: { min: number; max: number };
  peakRssKb: { min: number; max: number };
}

/** The run's summed RSS at one sampled instant (ms since the epoch, KiB). */
export interface MemoryPoint {
  at: number;
  rssKb: number;
}

export interface Report {
  run: ReportRun;
  steps: Step[];
  totals: Totals;
  system: SystemPoint[];
  /** the HTML report's cross-run view: each step key's range over earlier runs of the pipeline */
  history?: { runs: number; steps: Map<string, StepRange> };
  /** the run's memory over time (at most MAX_MEMORY_POINTS, each the largest of its span); HTML only */
  memory?: MemoryPoint[];
  /** each step's heaviest processes (same index as steps); HTML only */
  top?: StepTop[];
}

export const FORMATS = ["table", "json", "csv", "nextflow", "html"] as const;
export type Format = (typeof FORMATS)[number];
