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
import { runResource } from "./otlp.ts";
import type { ExportProcess, ExportRun, ExportSystemSample } from "./types.ts";

export { OUTBOX_FILE, defaultOutboxPath } from "./outbox.ts";
import { defaultOutboxPath } from "./outbox.ts";
import { plural } from "../core/plural.ts";

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
        // an unknown CPU % stays unknown (its point is left out), never 0
        Object.entries(row).map(([k, v]) => [k, v ?? (k === "cpuPct" ? null : 0)]),
      ) as unknown as ExportSystemSample;
    });
}

/**
 * What one export did, in spans (traces units). `sent`/`queued`/`dropped` are this run's own spans;
 * `backlog` is what this export did with spans earlier runs left in the outbox (sent, dropped) and how
 * many of those are still queued. `rejected`: spans the collector accepted a request for but reported
 * as rejected (OTLP partialSuccess; not attributable to a run).
 */
export interface ExportSummary {
  spans: number;
  sent: number;
  queued: number;
  dropped: number;
  backlog: { sent: number; queued: number; dropped: number };
  rejected: number;
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
    const mine = JSON.stringify(runResource(run)); // the resource text the outbox keeps this run's items under
    const own = exporter.settled.get(mine) ?? { sent: 0, dropped: 0 };
    const queued = exporter.queuedSpans(mine);
    const backlog = { sent: 0, dropped: 0, queued: Math.max(0, after.pending.traces - queued) };
    for (const [res, t] of exporter.settled)
      if (res !== mine) {
        backlog.sent += t.sent;
        backlog.dropped += t.dropped;
      }
    const partial = "dropped.traces.collector-partial-reject";
    return {
      spans: processes.length + 1,
      sent: own.sent,
      queued,
      dropped: own.dropped,
      backlog,
      rejected: (after.counters[partial] ?? 0) - (before[partial] ?? 0),
      lines,
    };
  } catch (e) {
    lines.push(`otlp: export failed: ${(e as Error).message} (${describeOtlp(config)})`);
    return {
      spans: 0,
      sent: 0,
      queued: 0,
      dropped: 0,
      backlog: { sent: 0, queued: 0, dropped: 0 },
      rejected: 0,
      lines,
    };
  } finally {
    await exporter?.stop().catch(() => {});
  }
}

/**
 * One line: this run's spans first, then what happened to the backlog earlier runs left queued, e.g.
 * `otlp: 2 of 2 spans sent; earlier backlog: 4 spans sent, 3 still queued`. The backlog part appears
 * only when this export sent or dropped some of it, or some of it is still waiting.
 */
export function summaryLine(x: ExportSummary): string {
  const more = (n: number, what: string) => (n ? `, ${n} ${what}` : "");
  let line = `otlp: ${x.sent} of ${plural(x.spans, "span")} sent${more(x.queued, "queued for later")}${more(x.dropped, "dropped")}`;
  const b = x.backlog;
  if (b.sent || b.dropped || b.queued)
    line += `; earlier backlog: ${plural(b.sent, "span")} sent${more(b.queued, "still queued")}${more(b.dropped, "dropped")}`;
  if (x.rejected) line += `; the collector rejected ${x.rejected} of the spans it received`;
  return line;
}
