/**
 * Export a recorded run: read it from the store, map the rows to the exporter's own types, queue it in
 * the outbox and try to send for a bounded time. What is not sent stays queued for the next attempt
 * (the next `tracer run` with export on drains it). Never throws: returns a summary for the caller.
 */
import { dirname } from "node:path";
import type { Database } from "bun:sqlite";
import { ensureSecureDir } from "../core/dirs.ts";
import { type RunRow, findRun, listProcesses, openStore } from "../store/index.ts";
import { describeOtlp, type OtlpConfig } from "./config.ts";
import { Exporter } from "./exporter.ts";
import type { ExportProcess, ExportRun, ExportSystemSample } from "./types.ts";

export { OUTBOX_FILE, defaultOutboxPath } from "./outbox.ts";
import { defaultOutboxPath } from "./outbox.ts";

const opt = <T>(v: T | null): T | undefined => (v === null ? undefined : v);

export function exportRunOf(r: RunRow): ExportRun {
  return {
    id: r.id,
    name: r.name,
    pipeline: r.pipeline,
    command: r.command,
    cwd: r.cwd,
    host: r.host,
    mode: r.mode,
    startedAt: r.startedAt,
    endedAt: opt(r.endedAt),
    exitCode: opt(r.exitCode),
    signal: opt(r.signal),
    status: r.status,
    eventsLost: r.eventsLost,
  };
}

export function exportProcessesOf(db: Database, runId: string): ExportProcess[] {
  return listProcesses(db, runId).map((p) => ({
    key: String(p.id),
    parentKey: p.parentId === null ? undefined : String(p.parentId),
    pid: p.pid,
    ppid: opt(p.ppid),
    startTicks: p.startTicks,
    comm: opt(p.comm),
    argv: opt(p.argv),
    cwd: opt(p.cwd),
    startedAt: p.startedAt ?? 0,
    endedAt: opt(p.endedAt),
    exitCode: opt(p.exitCode),
    signal: opt(p.signal),
    coreDumped: p.coreDumped,
    oomKilled: p.oomKilled,
    userUs: opt(p.userUs),
    systemUs: opt(p.systemUs),
    peakRssKb: opt(p.peakRssKb),
    rchar: opt(p.rchar),
    wchar: opt(p.wchar),
    readBytes: opt(p.readBytes),
    writeBytes: opt(p.writeBytes),
    figures: opt(p.figures),
  }));
}

export function exportSamplesOf(db: Database, runId: string): ExportSystemSample[] {
  return db
    .query(
      `SELECT at, cpu_pct AS cpuPct, mem_total_kb AS memTotalKb, mem_used_kb AS memUsedKb,
       swap_total_kb AS swapTotalKb, swap_used_kb AS swapUsedKb, load1, load5, load15,
       disk_total_bytes AS diskTotalBytes, disk_used_bytes AS diskUsedBytes
       FROM system_metrics WHERE run_id = ? ORDER BY at`,
    )
    .all(runId)
    .map((r) => {
      const row = r as Record<string, number | null>;
      return Object.fromEntries(
        Object.entries(row).map(([k, v]) => [k, v ?? 0]),
      ) as unknown as ExportSystemSample;
    });
}

export interface ExportSummary {
  spans: number;
  sent: number;
  queued: number;
  dropped: number;
  lines: string[];
}

/** Queue run `runId` (and whatever earlier runs left queued) and send for about `timeoutMs` (default 3 s). */
export async function exportStoredRun(
  runId: string,
  config: OtlpConfig,
  opts: { dbPath?: string; outboxPath?: string; timeoutMs?: number; commandArgs?: boolean } = {},
): Promise<ExportSummary> {
  const lines: string[] = [];
  let exporter: Exporter | undefined;
  try {
    const db = openStore(opts.dbPath, { readonly: true });
    let run: ExportRun;
    let processes: ExportProcess[];
    let samples: ExportSystemSample[];
    try {
      run = exportRunOf(findRun(db, runId));
      processes = exportProcessesOf(db, runId);
      samples = exportSamplesOf(db, runId);
    } finally {
      db.close();
    }
    const outboxPath = opts.outboxPath ?? defaultOutboxPath();
    ensureSecureDir(dirname(outboxPath));
    const timeoutMs = opts.timeoutMs ?? 3000;
    exporter = new Exporter({
      config,
      outboxPath,
      commandArgs: opts.commandArgs,
      client: { headersTimeoutMs: timeoutMs, bodyTimeoutMs: timeoutMs },
      backoffBaseMs: 250,
      log: (l) => lines.push(l),
    });
    const before = exporter.stats().counters;
    exporter.enqueueRun(run, processes, samples);
    const after = await exporter.flush(timeoutMs);
    const delta = (k: string) => (after.counters[k] ?? 0) - (before[k] ?? 0);
    const dropped = Object.keys(after.counters)
      .filter((k) => k.startsWith("dropped.traces."))
      .reduce((n, k) => n + delta(k), 0);
    return {
      spans: processes.length + 1,
      sent: delta("sent.traces"),
      queued: after.pending.traces,
      dropped,
      lines,
    };
  } catch (e) {
    lines.push(`otlp: export failed: ${(e as Error).message} (${describeOtlp(config)})`);
    return { spans: 0, sent: 0, queued: 0, dropped: 0, lines };
  } finally {
    await exporter?.stop().catch(() => {});
  }
}

export const summaryLine = (x: ExportSummary) =>
  `otlp: ${x.sent} of ${x.spans} spans sent${x.queued ? `, ${x.queued} queued for later` : ""}${x.dropped ? `, ${x.dropped} dropped` : ""}`;
