/** The TTY table: the run header, the totals line, one row per step. */
import { bytes, exitText, paint, runHeader, seconds, table } from "../run/format.ts";
import type { Report } from "./types.ts";

export function totalsLines(r: Report): string[] {
  const t = r.totals;
  const lines = [
    `totals    wall ${t.wallMs === null ? "-" : seconds(t.wallMs * 1000)}, CPU ${t.cpuHours.toFixed(4)} h, peak memory ${bytes(t.peakRssKb * 1024)}, read ${bytes(t.readBytes)}, written ${bytes(t.writeBytes)}`,
    `steps     ${t.steps} (${t.failedSteps} failed) from ${t.processes} processes`,
  ];
  if (t.cost !== null)
    lines.push(`cost      ${t.cost.toFixed(4)} at ${t.pricePerHour} per hour of wall time`);
  return lines;
}

export function renderTable(r: Report): string {
  const rows = r.steps.map((s) => [
    String(s.index),
    s.startedAt === null ? "-" : `+${((s.startedAt - r.run.startedAt) / 1000).toFixed(3)}s`,
    s.durationMs === null ? "-" : seconds(s.durationMs * 1000),
    s.failed
      ? (s.oomKilled ? paint.oom : paint.failed)(`FAILED ${exitText(s.exitCode, s.signal, s.oomKilled)}`)
      : exitText(s.exitCode, s.signal, s.oomKilled),
    seconds(s.cpuUs),
    bytes(s.peakRssKb * 1024),
    bytes(s.readBytes),
    bytes(s.writeBytes),
    String(s.processIds.length),
    s.name,
  ]);
  const head = ["#", "START", "WALL", "EXIT", "CPU", "PEAK RSS", "READ", "WRITE", "PROCS", "STEP"];
  const body = rows.length
    ? table(head, rows, new Set([0, 1, 2, 4, 5, 6, 7, 8]))
    : "no steps recognized (tracer rules test -- CMD shows why; see docs/RULES.md)";
  return [runHeader(r.run), ...totalsLines(r), "", body, ""].join("\n");
}
