/** The one-line export summary: this run's spans apart from an earlier backlog (issue 17: "6 of 2 spans sent"). */
import { expect, test } from "bun:test";
import { type ExportSummary, summaryLine } from "../../src/export/from-store.ts";

const none = { sent: 0, queued: 0, dropped: 0 };
const x = (o: Partial<ExportSummary>): ExportSummary => ({
  spans: 2,
  sent: 2,
  queued: 0,
  dropped: 0,
  backlog: none,
  rejected: 0,
  lines: [],
  ...o,
});

test("this run alone, then beside a drained backlog, never summed with it", () => {
  expect(summaryLine(x({}))).toBe("otlp: 2 of 2 spans sent");
  expect(summaryLine(x({ backlog: { sent: 4, queued: 0, dropped: 0 } }))).toBe(
    "otlp: 2 of 2 spans sent; earlier backlog: 4 spans sent",
  );
  expect(summaryLine(x({ sent: 0, queued: 2, backlog: { sent: 0, queued: 4, dropped: 0 } }))).toBe(
    "otlp: 0 of 2 spans sent, 2 queued for later; earlier backlog: 0 spans sent, 4 still queued",
  );
  expect(
    summaryLine(x({ sent: 1, dropped: 1, backlog: { sent: 3, queued: 1, dropped: 2 }, rejected: 1 })),
  ).toBe(
    "otlp: 1 of 2 spans sent, 1 dropped; earlier backlog: 3 spans sent, 1 still queued, 2 dropped; the collector rejected 1 of the spans it received",
  );
});
