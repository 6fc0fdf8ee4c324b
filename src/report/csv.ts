/** CSV (RFC 4180): one row per step, the columns of the JSON report's steps. */
import { stepJson } from "./json.ts";
import type { Report } from "./types.ts";

const COLUMNS = [
  "index",
  "name",
  "kind",
  "tool",
  "pid",
  "started_at",
  "ended_at",
  "duration_ms",
  "cpu_seconds",
  "cpu_pct",
  "peak_rss_bytes",
  "peak_rss_upper_bytes",
  "peak_rss_exact",
  "read_bytes",
  "write_bytes",
  "rchar",
  "wchar",
  "exit_code",
  "signal",
  "oom_killed",
  "failed",
  "processes",
  "workdir",
  "command",
] as const;

export function csvField(v: unknown): string {
  const s = v === null || v === undefined ? "" : String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function renderCsv(r: Report): string {
  const rows = r.steps.map((s) => {
    const j = stepJson(s) as Record<(typeof COLUMNS)[number], unknown>;
    return COLUMNS.map((c) => csvField(j[c])).join(",");
  });
  return `${[COLUMNS.join(","), ...rows].join("\r\n")}\r\n`;
}
