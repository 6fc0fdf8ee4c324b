/**
 * The OTLP exporter: queue a run into the durable outbox, send batches (by size and age) through the
 * guarded client, back off on failure while keeping the backlog, and drain when the collector is back.
 * It never throws into its caller and never logs header values. Delivery: an item is deleted only
 * after a 2xx, so each span arrives once unless a process dies between the collector's answer and
 * the delete (then it is sent again: at-least-once across crashes).
 */
import { type ClientOptions, createNetClient, parseRetryAfter, RETRY_STATUS } from "../net/client.ts";
import { NetError, NetRefusal } from "../net/errors.ts";
import type { OtlpConfig, Signal } from "./config.ts";
import { metricsRequest, systemMetrics } from "./metrics.ts";
import { runResource, runSpans, traceRequest } from "./otlp.ts";
import { Outbox, type OutboxRow, type OutboxStats } from "./outbox.ts";
import type { ExportOptions, ExportProcess, ExportRun, ExportSystemSample } from "./types.ts";

/** After a split isolated an item the collector refused, how long refused batches are dropped whole. */
const SPLIT_PAUSE_MS = 60_000;

export interface ExporterOptions extends ExportOptions {
  config: OtlpConfig;
  outboxPath: string;
  /** items (spans or metrics) per request (default 512) */
  batchItems?: number;
  /** request body budget (default 4 MiB; OTLP recommends ≤ 20 MiB) */
  batchBytes?: number;
  /** send a partial batch once its oldest item is this old (default 5 s) */
  maxAgeMs?: number;
  /** bounded backlog in items (default 100 000); the oldest are dropped and counted */
  maxBacklog?: number;
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  tickMs?: number;
  /** per-request limits and, in tests, an injected resolver */
  client?: Omit<ClientOptions, "allowHttp" | "allowLoopback" | "allowPrivate">;
  /** one line per state change; never receives header values */
  log?: (line: string) => void;
}

const SIGNALS: Signal[] = ["traces", "metrics"];
const PARTIAL_FIELD: Record<Signal, string> = { traces: "rejectedSpans", metrics: "rejectedDataPoints" };

export class Exporter {
  private readonly outbox: Outbox;
  private readonly client;
  private readonly o: Required<Omit<ExporterOptions, "client" | "log" | "commandArgs">>;
  private timer: Timer | undefined;
  private busy: Promise<void> | undefined;
  private failures = 0;
  private nextAttemptAt = 0;
  private down = false;
  /** the batch size before a batch the collector refused (HTTP 400) was split to find the item it refuses */
  private splitFrom: number | undefined;
  /**
   * No split before this time (epoch ms): set when a split ended with one item refused, so that a
   * collector refusing every request (a schema it does not take) costs one request a batch, not two an item
   */
  private noSplitUntil = 0;
  /** spans settled by this exporter per resource (JSON text, one per run): sent (2xx) and dropped */
  readonly settled = new Map<string, { sent: number; dropped: number }>();

  constructor(
    opts: ExporterOptions,
    private readonly log: (line: string) => void = opts.log ?? (() => {}),
  ) {
    this.o = {
      config: opts.config,
      outboxPath: opts.outboxPath,
      batchItems: opts.batchItems ?? 512,
      batchBytes: opts.batchBytes ?? 4 * 1024 * 1024,
      maxAgeMs: opts.maxAgeMs ?? 5000,
      maxBacklog: opts.maxBacklog ?? 100_000,
      backoffBaseMs: opts.backoffBaseMs ?? 1000,
      backoffMaxMs: opts.backoffMaxMs ?? 60_000,
      tickMs: opts.tickMs ?? 1000,
    };
    this.commandArgs = opts.commandArgs === true;
    this.outbox = new Outbox(opts.outboxPath, this.o.maxBacklog);
    const insecure = opts.config.insecure;
    this.client = createNetClient({
      headersTimeoutMs: 10_000,
      bodyTimeoutMs: 10_000,
      maxBytes: 1024 * 1024,
      ...opts.client,
      retries: 0, // the outbox does the retrying, across restarts too
      allowHttp: insecure,
      allowLoopback: insecure,
      allowPrivate: insecure,
    });
    for (const n of opts.config.notes) this.log(`otlp: ${n}`);
  }
  private readonly commandArgs: boolean;

  /** Queue a run's spans and metrics. Never throws; returns false if nothing could be queued. */
  enqueueRun(run: ExportRun, processes: ExportProcess[], samples: ExportSystemSample[] = []): boolean {
    try {
      const resource = runResource(run);
      const spans = runSpans(run, processes, { commandArgs: this.commandArgs });
      let dropped = this.outbox.enqueue(
        "traces",
        resource,
        spans.map((body) => ({ body, units: 1 })),
      );
      const metrics = systemMetrics(samples);
      if (metrics.length)
        dropped += this.outbox.enqueue(
          "metrics",
          resource,
          metrics.map((body) => ({ body, units: body.gauge.dataPoints.length })),
        );
      if (dropped) this.log(`otlp: backlog full, dropped the ${dropped} oldest queued spans/points`);
      return true;
    } catch (e) {
      this.log(`otlp: could not queue run ${run.id}: ${(e as Error).message}`);
      return false;
    }
  }

  start(): this {
    this.timer ??= setInterval(() => void this.tick(), this.o.tickMs);
    this.timer.unref?.();
    return this;
  }

  /** One pass: send what is due (full batches, or items older than maxAgeMs; everything when forced). */
  tick(force = false): Promise<void> {
    this.busy ??= this.pass(force).finally(() => {
      this.busy = undefined;
    });
    return this.busy;
  }

  private async pass(force: boolean) {
    try {
      if (Date.now() < this.nextAttemptAt) return;
      for (const signal of SIGNALS) {
        for (;;) {
          const p = this.outbox.pending(signal);
          if (p.items === 0) break;
          if (!force && p.items < this.o.batchItems && p.oldestAgeMs < this.o.maxAgeMs) break;
          if (!(await this.sendBatch(signal))) return;
        }
      }
    } catch (e) {
      this.log(`otlp: exporter error: ${(e as Error).message}`);
    }
  }

  /** Send one batch; false when the collector is unavailable (backing off). */
  private async sendBatch(signal: Signal): Promise<boolean> {
    const rows = this.outbox.claim(signal, this.o.batchItems, this.o.batchBytes, 60_000);
    if (rows.length === 0) return false;
    const body = JSON.stringify(this.request(signal, rows));
    let res: Response;
    try {
      res = await this.client.fetch(this.o.config.urls[signal], {
        method: "POST",
        headers: { ...this.o.config.headers[signal], "content-type": "application/json" },
        body,
      });
    } catch (e) {
      this.outbox.release(rows);
      const why =
        e instanceof NetRefusal || e instanceof NetError ? e.message : `unexpected: ${(e as Error).message}`;
      return this.backoff(why, undefined);
    }
    const text = await res.text().catch(() => "");
    if (res.ok) {
      this.outbox.ack(rows);
      this.settle(rows, "sent");
      this.countPartial(signal, text);
      if (this.down) this.log(`otlp: collector reachable again, draining`);
      this.down = false;
      this.failures = 0;
      this.nextAttemptAt = 0;
      return true;
    }
    if (RETRY_STATUS.has(res.status)) {
      this.outbox.release(rows);
      return this.backoff(`HTTP ${res.status}`, parseRetryAfter(res.headers.get("retry-after")));
    }
    if (res.status === 413 && rows.length > 1) {
      this.outbox.release(rows);
      this.o.batchItems = Math.max(1, Math.floor(rows.length / 2));
      this.log(`otlp: request too large (413), batches now ${this.o.batchItems} items`);
      return true;
    }
    if (res.status === 400 && rows.length > 1 && Date.now() >= this.noSplitUntil) {
      // a request the collector cannot take is most often one item it refuses: halves until that item
      // is alone, so it does not take the others (up to 512 spans, other runs' too) with it
      this.outbox.release(rows);
      this.splitFrom ??= this.o.batchItems;
      this.o.batchItems = Math.max(1, Math.floor(rows.length / 2));
      this.log(
        `otlp: collector rejected ${rows.length} ${signal} items with HTTP 400; sending them in halves to find the one it refuses`,
      );
      return true;
    }
    this.outbox.drop(rows, `rejected-http-${res.status}`);
    this.settle(rows, "dropped");
    this.log(`otlp: collector rejected ${rows.length} ${signal} items with HTTP ${res.status}; dropped`);
    if (this.splitFrom !== undefined && rows.length === 1) {
      this.o.batchItems = this.splitFrom;
      this.splitFrom = undefined;
      this.noSplitUntil = Date.now() + SPLIT_PAUSE_MS;
    }
    return true;
  }

  private settle(rows: OutboxRow[], how: "sent" | "dropped") {
    for (const r of rows) {
      if (r.signal !== "traces") continue;
      const t = this.settled.get(r.resource) ?? { sent: 0, dropped: 0 };
      t[how] += r.units;
      this.settled.set(r.resource, t);
    }
  }

  /** Spans still queued under `resource` (the JSON text `runResource` gives for a run). */
  queuedSpans(resource: string): number {
    return this.outbox.pendingUnits("traces", resource);
  }

  private request(signal: Signal, rows: OutboxRow[]) {
    const groups = new Map<string, unknown[]>();
    for (const r of rows) {
      const g = groups.get(r.resource) ?? [];
      g.push(JSON.parse(r.body));
      groups.set(r.resource, g);
    }
    const list = [...groups].map(([res, items]) => ({ resource: JSON.parse(res), items }));
    return signal === "traces"
      ? traceRequest(list.map((g) => ({ resource: g.resource, spans: g.items as never[] })))
      : metricsRequest(list.map((g) => ({ resource: g.resource, metrics: g.items as never[] })));
  }

  private countPartial(signal: Signal, text: string) {
    try {
      const partial = text
        ? (JSON.parse(text) as { partialSuccess?: Record<string, unknown> }).partialSuccess
        : undefined;
      const n = Number(partial?.[PARTIAL_FIELD[signal]] ?? 0);
      if (n > 0) {
        this.outbox.countDropped(signal, "collector-partial-reject", n);
        this.log(
          `otlp: collector rejected ${n} ${signal} units: ${String(partial?.errorMessage ?? "").slice(0, 200)}`,
        );
      }
    } catch {}
  }

  private backoff(why: string, retryAfterMs: number | undefined): false {
    this.failures++;
    const exp = Math.min(this.o.backoffMaxMs, this.o.backoffBaseMs * 2 ** (this.failures - 1));
    const wait = Math.min(this.o.backoffMaxMs, retryAfterMs ?? exp * (0.5 + Math.random() / 2));
    this.nextAttemptAt = Date.now() + wait;
    if (!this.down) {
      const s = this.outbox.stats().pending;
      this.log(`otlp: collector unavailable (${why}); keeping ${s.traces} spans, ${s.metrics} points queued`);
    }
    this.down = true;
    return false;
  }

  /** Send everything now, retrying through backoff until the outbox is empty or `timeoutMs` passes. */
  async flush(timeoutMs: number): Promise<OutboxStats> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      await this.tick(true);
      const s = this.outbox.stats().pending;
      if (s.traces + s.metrics === 0 || Date.now() >= end) break;
      await Bun.sleep(Math.max(10, Math.min(this.nextAttemptAt - Date.now(), end - Date.now(), 1000)));
    }
    return this.stats();
  }

  stats(): OutboxStats {
    return this.outbox.stats();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.busy;
    this.outbox.close();
  }
}
