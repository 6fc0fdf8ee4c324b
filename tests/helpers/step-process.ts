/**
 * A StepProcess for tests that feed groupSteps by hand: an ended, successful process of pid 100 + id,
 * child of process 1, with zero CPU and I/O and a 1,000 KiB peak; `o` overrides any field.
 */
import type { StepProcess } from "../../src/steps/index.ts";

export const stepProcess = (id: number, o: Partial<StepProcess> = {}): StepProcess => ({
  id,
  pid: 100 + id,
  parentId: id === 1 ? null : 1,
  comm: o.argv?.[0] ?? "true",
  argv: ["true"],
  cwd: "/",
  startedAt: 0,
  endedAt: 50,
  exitCode: 0,
  signal: null,
  oomKilled: false,
  userUs: 0,
  systemUs: 0,
  peakRssKb: 1000,
  rchar: 0,
  wchar: 0,
  readBytes: 0,
  writeBytes: 0,
  ...o,
});
