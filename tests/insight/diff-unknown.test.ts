/**
 * `tracer diff` on steps whose figures are unknown (a process known only from wait4, e.g. the root
 * when its connector events were missed): the diff said "3.0MiB → 0B (-100%)" where the report table
 * says "-". Unknown is null in the diff, "-" in its text; the I/O columns are named as in the report
 * (DISK READ / DISK WRITE: read_bytes / write_bytes, not rchar / wchar, which the report calls READ / WRITE).
 */
import { expect, test } from "bun:test";
import { diffRuns } from "../../src/insight/diff.ts";
import { renderDiff } from "../../src/insight/diff-text.ts";
import { buildReport } from "../../src/report/index.ts";
import { loadRules } from "../../src/rules/index.ts";
import { type StepProcess, groupSteps } from "../../src/steps/index.ts";
import type { RunRow } from "../../src/store/index.ts";

const proc = (o: Partial<StepProcess> = {}): StepProcess => ({
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

const report = (id: string, p: StepProcess) =>
  buildReport({
    run: { id, name: id, pipeline: "p", startedAt: 1000, endedAt: 2000, command: ["bash"] } as RunRow,
    processes: [p],
    steps: groupSteps([p], loadRules({ config: false })),
    system: [],
  });

test("a figure unknown in B is null (shown '-'), never a drop to 0B (-100%)", () => {
  const a = report("A", proc());
  const b = report(
    "B",
    proc({ peakRssKb: null, rchar: null, wchar: null, readBytes: null, writeBytes: null }),
  );
  const d = diffRuns(a, b);
  expect(d.steps).toHaveLength(1);
  const c = d.steps[0]!.changes;
  expect(c.peak_rss_bytes).toEqual({ a: 3072 * 1024, b: null, abs: null, pct: null });
  expect(c.read_bytes.b).toBeNull();
  expect(c.write_bytes.b).toBeNull();
  const text = renderDiff(d);
  expect(text).not.toContain("0B (-100%)");
  expect(text).toContain("3.0MiB → -");
  const header = text.split("\n").find((l) => l.startsWith("STATUS"))!;
  expect(header).toMatch(/PEAK RSS +DISK READ +DISK WRITE +STEP$/);
});
