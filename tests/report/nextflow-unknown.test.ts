/**
 * trace.txt (--format nextflow) for a step none of whose processes has a figure (a process known only
 * from wait4): Nextflow's "-", as the table's "-", not "0" (which reads as "used nothing").
 */
import { expect, test } from "bun:test";
import { buildReport } from "../../src/report/index.ts";
import { renderNextflow } from "../../src/report/nextflow.ts";
import { loadRules } from "../../src/rules/index.ts";
import { type StepProcess, groupSteps } from "../../src/steps/index.ts";
import type { RunRow } from "../../src/store/index.ts";

const proc = (o: Partial<StepProcess>): StepProcess => ({
  id: 1,
  pid: 1,
  parentId: null,
  comm: "bash",
  argv: ["bash", "-c", "x"],
  cwd: "/",
  startedAt: 1000,
  endedAt: 2000,
  exitCode: 0,
  signal: null,
  oomKilled: false,
  userUs: 1000,
  systemUs: 500,
  peakRssKb: 3072,
  rchar: 2048,
  wchar: 2048,
  readBytes: 4096,
  writeBytes: 4096,
  ...o,
});

const rows = (p: StepProcess) => {
  const r = buildReport({
    run: { id: "i", name: "n", pipeline: "p", startedAt: 1000, endedAt: 2000, command: ["bash"] } as RunRow,
    processes: [p],
    steps: groupSteps([p], loadRules({ config: false })),
    system: [],
  });
  return renderNextflow(r).trimEnd().split("\n");
};

test("unknown %cpu, peak_rss, rchar, wchar, read_bytes, write_bytes are '-', known ones unchanged", () => {
  const none = {
    userUs: null,
    systemUs: null,
    peakRssKb: null,
    rchar: null,
    wchar: null,
    readBytes: null,
    writeBytes: null,
  };
  const unknown = rows(proc(none))[1]!.split("\t");
  // %cpu peak_rss peak_vmem rchar wchar read_bytes write_bytes
  expect(unknown.slice(9)).toEqual(["-", "-", "-", "-", "-", "-", "-"]);
  const known = rows(proc({}))[1]!.split("\t");
  expect(known.slice(9)).toEqual(["0.1%", "3 MB", "-", "2 KB", "2 KB", "4 KB", "4 KB"]);
});
