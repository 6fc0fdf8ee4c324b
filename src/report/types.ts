/** The report model every format renders: a run, its steps, totals and the host's metrics. */
import type { Step } from "../steps/index.ts";
import type { RunRow } from "../store/index.ts";

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
  unknown: {
    cpu: number;
    peakRss: number;
    readBytes: number;
    writeBytes: number;
    rchar: number;
    wchar: number;
  };
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

export interface Report {
  run: ReportRun;
  steps: Step[];
  totals: Totals;
  system: SystemPoint[];
}

export const FORMATS = ["table", "json", "csv", "nextflow", "html"] as const;
export type Format = (typeof FORMATS)[number];
