/** Build a Report from a run's processes (and, when recorded, samples and system metrics). */
import { peakRss } from "../steps/_rollup.ts";
import type { RssSamples, Step, StepProcess } from "../steps/index.ts";
import type { Report, ReportRun, SystemPoint, Totals } from "./types.ts";

export interface ReportInput {
  run: ReportRun;
  processes: StepProcess[];
  steps: Step[];
  samples: RssSamples;
  system: SystemPoint[];
  pricePerHour?: number;
}

export function totals(i: ReportInput): Totals {
  const sum = (f: (p: StepProcess) => number | null) => i.processes.reduce((a, p) => a + (f(p) ?? 0), 0);
  const none = (f: (p: StepProcess) => number | null) =>
    i.processes.reduce((a, p) => a + (f(p) === null ? 1 : 0), 0);
  const wallMs = i.run.endedAt === null ? null : i.run.endedAt - i.run.startedAt;
  const price = i.pricePerHour ?? null;
  return {
    wallMs,
    cpuHours: sum((p) => (p.userUs ?? 0) + (p.systemUs ?? 0)) / 3.6e9,
    ...peakRss(i.processes, i.samples),
    readBytes: sum((p) => p.readBytes),
    writeBytes: sum((p) => p.writeBytes),
    rchar: sum((p) => p.rchar),
    wchar: sum((p) => p.wchar),
    unknown: {
      cpu: none((p) => p.userUs),
      peakRss: none((p) => p.peakRssKb),
      readBytes: none((p) => p.readBytes),
      writeBytes: none((p) => p.writeBytes),
      rchar: none((p) => p.rchar),
      wchar: none((p) => p.wchar),
    },
    processes: i.processes.length,
    steps: i.steps.length,
    failedSteps: i.steps.filter((s) => s.failed).length,
    pricePerHour: price,
    cost: price === null || wallMs === null ? null : Math.round((wallMs / 3.6e6) * price * 1e4) / 1e4,
  };
}

export function buildReport(i: ReportInput): Report {
  return { run: i.run, steps: i.steps, totals: totals(i), system: i.system };
}
