/**
 * A step that starts a few ms before the run row's timestamp (the root's fork event and the run's
 * Date.now() are two clocks; seen on a loaded host) was shown as "+-0.006s" in the step table while the
 * process table showed the same process at "+0.000s".
 */
import { expect, test } from "bun:test";
import { buildReport } from "../../src/report/index.ts";
import { renderHtml } from "../../src/report/html.ts";
import { renderTable } from "../../src/report/table.ts";
import { loadRules } from "../../src/rules/index.ts";
import { type StepProcess, groupSteps } from "../../src/steps/index.ts";
import type { RunRow } from "../../src/store/index.ts";

const proc = (id: number, o: Partial<StepProcess> = {}): StepProcess => ({
  id,
  pid: id,
  parentId: null,
  comm: "bash",
  argv: ["bash", "-c", "x"],
  cwd: "/",
  startedAt: 994,
  endedAt: 2000,
  exitCode: 0,
  signal: null,
  oomKilled: false,
  userUs: 1000,
  systemUs: 500,
  peakRssKb: 1024,
  rchar: 2048,
  wchar: 2048,
  readBytes: 4096,
  writeBytes: 4096,
  ...o,
});

test("a step starting before the run's timestamp is +0.000s, never +-0.006s", () => {
  const procs = [proc(1), proc(2, { parentId: 1, comm: "sort", argv: ["sort", "a"], startedAt: 1008 })];
  const r = buildReport({
    run: {
      startedAt: 1000,
      endedAt: 2000,
      command: ["bash"],
      name: "n",
      id: "i",
      status: "done",
      host: "h",
      pipeline: "p",
      exitCode: 0,
      signal: null,
    } as RunRow,
    processes: procs,
    steps: groupSteps(procs, loadRules({ config: false })),
    system: [],
  });
  const table = renderTable(r);
  expect(table).not.toContain("+-");
  expect(table).toMatch(/^1 +\+0\.000s /m);
  expect(table).toMatch(/^2 +\+0\.008s /m);
  const html = renderHtml(r);
  expect(html).not.toContain("<td>-0.006s</td>");
  expect(html).toContain("<td>0.000s</td>");
});
