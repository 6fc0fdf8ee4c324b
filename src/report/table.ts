/** The TTY table: the run header, the totals line, one row per step. */
import { type Cell, bytes, exitText, paint, runHeader, seconds, writeTable } from "../run/format.ts";
import type { Report } from "./types.ts";

/**
 * A peak that samples may have missed shows its upper bound too: "301MiB–601MiB" (sampled peak, the
 * most it can have been); one the bounds pin down shows alone.
 */
export function peakText(p: { peakRssKb: number; peakRssUpperKb: number; peakRssExact: boolean }): string {
  const seen = bytes(p.peakRssKb * 1024);
  return p.peakRssExact ? seen : `${seen}–${bytes(p.peakRssUpperKb * 1024)}`;
}

export function totalsLines(r: Report): string[] {
  const t = r.totals;
  const peak = t.peakRssExact
    ? bytes(t.peakRssKb * 1024)
    : `${bytes(t.peakRssKb * 1024)} sampled, at most ${bytes(t.peakRssUpperKb * 1024)}`;
  const lines = [
    `totals    wall ${t.wallMs === null ? "-" : seconds(t.wallMs * 1000)}, CPU ${t.cpuHours.toFixed(4)} h, peak memory ${peak}, read ${bytes(t.readBytes)}, written ${bytes(t.writeBytes)}`,
    `steps     ${t.steps} (${t.failedSteps} failed) from ${t.processes} processes`,
  ];
  if (t.cost !== null)
    lines.push(`cost      ${t.cost.toFixed(4)} at ${t.pricePerHour} per hour of wall time`);
  return lines;
}

export function renderTable(r: Report): string {
  const stepRow = (i: number): Cell[] => {
    const s = r.steps[i]!;
    return [
      String(s.index),
      !Number.isFinite(s.startedAt) ? "-" : `+${((s.startedAt - r.run.startedAt) / 1000).toFixed(3)}s`,
      s.durationMs === null ? "-" : seconds(s.durationMs * 1000),
      s.failed
        ? (s.oomKilled ? paint.oom : paint.failed)(`FAILED ${exitText(s.exitCode, s.signal, s.oomKilled)}`)
        : exitText(s.exitCode, s.signal, s.oomKilled),
      seconds(s.cpuUs),
      peakText(s),
      bytes(s.readBytes),
      bytes(s.writeBytes),
      String(s.processIds.length),
      s.name,
    ];
  };
  const head = ["#", "START", "WALL", "EXIT", "CPU", "PEAK RSS", "READ", "WRITE", "PROCS", "STEP"];
  const parts: string[] = [];
  if (r.steps.length)
    writeTable(head, r.steps.length, stepRow, new Set([0, 1, 2, 4, 5, 6, 7, 8]), (c) => parts.push(c));
  else parts.push("no steps recognized (tracer rules test -- CMD shows why; see docs/RULES.md)\n");
  if (r.steps.some((s) => !s.peakRssExact))
    parts.push(
      "\nPEAK RSS a–b: a sampled, b the most its processes alive together can have held (docs/CAPTURE.md)\n",
    );
  return `${[runHeader(r.run), ...totalsLines(r), "", ""].join("\n")}${parts.join("")}`;
}
