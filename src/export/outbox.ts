/**
 * The durable outbox: everything to export is written to SQLite (a 0600 file in the state dir) before
 * any attempt to send it. Senders claim batches under a lease (so two exporters sharing the file never
 * send the same item twice), then ack (delete), release (retry later) or drop (counted, with a reason).
 * The backlog is bounded: past `maxItems`, the oldest items are dropped and counted.
 */
import { Database } from "bun:sqlite";
import { existsSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { resolveDirs } from "../core/dirs.ts";
import { privateFile, trustDir } from "../core/trusted.ts";
import { Exit, TracerError } from "../errors.ts";
import type { Signal } from "./config.ts";

export const OUTBOX_FILE = "otlp-outbox.db";
/** The outbox beside the store, in the state dir. */
export const defaultOutboxPath = () => join(resolveDirs().state, OUTBOX_FILE);

export interface OutboxRow {
  id: number;
  signal: Signal;
  resource: string;
  body: string;
  units: number;
  bytes: number;
  createdAt: number;
}

export interface OutboxStats {
  pending: Record<Signal, number>;
  /** counters: enqueued.<signal>, sent.<signal>, dropped.<signal>.<reason> (spans / data points) */
  counters: Record<string, number>;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS items (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  signal TEXT NOT NULL,
  resource TEXT NOT NULL,
  body TEXT NOT NULL,
  units INTEGER NOT NULL,
  bytes INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  lease_until INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS items_by_signal ON items (signal, id);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
`;

export class Outbox {
  readonly db: Database;

  constructor(
    readonly path: string,
    readonly maxItems = 100_000,
  ) {
    // in a checked dir (src/core/trusted.ts), 0600 with its -wal/-shm; E_DIR_UNSAFE/E_FILE_UNSAFE (exit 3)
    const dir = trustDir(dirname(path), { create: false });
    const file = dir && privateFile(dir, basename(path), { create: true, sqlite: true });
    try {
      if (file === undefined) throw new Error("its directory does not exist");
      this.db = new Database(file, { create: true });
      this.db.exec("PRAGMA busy_timeout = 5000");
      this.db.exec("PRAGMA journal_mode = WAL");
      this.db.exec("PRAGMA synchronous = NORMAL");
      this.db.exec(SCHEMA);
    } catch (e) {
      throw new TracerError(
        "E_OUTBOX_OPEN",
        `cannot open the export outbox ${path}: ${(e as Error).message}`,
        Exit.error,
        {
          cause: e,
        },
      );
    }
  }

  private bump(name: string, by: number) {
    if (by !== 0)
      this.db
        .query(
          "INSERT INTO counters (name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = value + ?",
        )
        .run(name, by, by);
  }

  /** Queue items (each one span or one metric) under one resource; returns how many old units were dropped. */
  enqueue(
    signal: Signal,
    resource: unknown,
    items: { body: unknown; units: number }[],
    now = Date.now(),
  ): number {
    const res = JSON.stringify(resource);
    const insert = this.db.query(
      "INSERT INTO items (signal, resource, body, units, bytes, created_at) VALUES (?, ?, ?, ?, ?, ?)",
    );
    return this.db
      .transaction(() => {
        let units = 0;
        for (const it of items) {
          const body = JSON.stringify(it.body);
          insert.run(signal, res, body, it.units, res.length + body.length, now);
          units += it.units;
        }
        this.bump(`enqueued.${signal}`, units);
        return this.enforceBound();
      })
      .immediate();
  }

  /** Drop the oldest items past the bound, counting what they carried per signal. */
  private enforceBound(): number {
    const { n } = this.db.query("SELECT COUNT(*) AS n FROM items").get() as { n: number };
    if (n <= this.maxItems) return 0;
    const excess = n - this.maxItems;
    const lost = this.db
      .query(
        `SELECT signal, SUM(units) AS units FROM (SELECT signal, units FROM items ORDER BY id LIMIT ?) GROUP BY signal`,
      )
      .all(excess) as { signal: Signal; units: number }[];
    this.db.query("DELETE FROM items WHERE id IN (SELECT id FROM items ORDER BY id LIMIT ?)").run(excess);
    let total = 0;
    for (const l of lost) {
      this.bump(`dropped.${l.signal}.backlog-full`, l.units);
      total += l.units;
    }
    return total;
  }

  /** Lease up to `maxItems` / `maxBytes` of the oldest unleased items of a signal (at least one). */
  claim(signal: Signal, maxItems: number, maxBytes: number, leaseMs: number, now = Date.now()): OutboxRow[] {
    return this.db
      .transaction(() => {
        const rows = this.db
          .query(
            `SELECT id, signal, resource, body, units, bytes, created_at AS createdAt FROM items
           WHERE signal = ? AND lease_until <= ? ORDER BY id LIMIT ?`,
          )
          .all(signal, now, maxItems) as OutboxRow[];
        const picked: OutboxRow[] = [];
        let bytes = 0;
        for (const r of rows) {
          if (picked.length > 0 && bytes + r.bytes > maxBytes) break;
          picked.push(r);
          bytes += r.bytes;
        }
        const lease = this.db.query("UPDATE items SET lease_until = ? WHERE id = ?");
        for (const r of picked) lease.run(now + leaseMs, r.id);
        return picked;
      })
      .immediate();
  }

  private remove(rows: OutboxRow[]) {
    const del = this.db.query("DELETE FROM items WHERE id = ?");
    for (const r of rows) del.run(r.id);
  }

  /** The collector accepted these. */
  ack(rows: OutboxRow[]) {
    this.db.transaction(() => {
      this.remove(rows);
      for (const s of new Set(rows.map((r) => r.signal)))
        this.bump(
          `sent.${s}`,
          rows.filter((r) => r.signal === s).reduce((n, r) => n + r.units, 0),
        );
    })();
  }

  /** Give up on these for good, counting them under `reason`. */
  drop(rows: OutboxRow[], reason: string) {
    this.db.transaction(() => {
      this.remove(rows);
      for (const s of new Set(rows.map((r) => r.signal)))
        this.bump(
          `dropped.${s}.${reason}`,
          rows.filter((r) => r.signal === s).reduce((n, r) => n + r.units, 0),
        );
    })();
  }

  /** Count units the collector reported as rejected inside an accepted request (partialSuccess). */
  countDropped(signal: Signal, reason: string, units: number) {
    this.bump(`dropped.${signal}.${reason}`, units);
  }

  /** Not sent this time: make them claimable again. */
  release(rows: OutboxRow[]) {
    const q = this.db.query("UPDATE items SET lease_until = 0 WHERE id = ?");
    this.db.transaction(() => {
      for (const r of rows) q.run(r.id);
    })();
  }

  /** Units waiting per signal, and the age (ms) of the oldest unleased item of `signal`. */
  pending(signal: Signal, now = Date.now()): { items: number; oldestAgeMs: number } {
    const r = this.db
      .query(
        "SELECT COUNT(*) AS n, MIN(created_at) AS oldest FROM items WHERE signal = ? AND lease_until <= ?",
      )
      .get(signal, now) as { n: number; oldest: number | null };
    return { items: r.n, oldestAgeMs: r.oldest === null ? 0 : now - r.oldest };
  }

  /** Units of `signal` queued under the resource whose JSON text is `resource` (leased or not). */
  pendingUnits(signal: Signal, resource: string): number {
    const r = this.db
      .query("SELECT COALESCE(SUM(units), 0) AS u FROM items WHERE signal = ? AND resource = ?")
      .get(signal, resource) as { u: number };
    return r.u;
  }

  stats(): OutboxStats {
    const pending = { traces: 0, metrics: 0 } as Record<Signal, number>;
    for (const r of this.db.query("SELECT signal, SUM(units) AS u FROM items GROUP BY signal").all() as {
      signal: Signal;
      u: number;
    }[])
      pending[r.signal] = r.u;
    const counters: Record<string, number> = {};
    for (const r of this.db.query("SELECT name, value FROM counters ORDER BY name").all() as {
      name: string;
      value: number;
    }[])
      counters[r.name] = r.value;
    return { pending, counters };
  }

  close() {
    this.db.close();
  }
}

/**
 * Units (spans, data points) still queued in the outbox at `path` for each of `runIds` (absent: none).
 * Read-only: `runs rm`/`prune` leave these alone, so a removed run's telemetry still goes out, and
 * leaves the outbox only once the collector accepted it.
 */
export function queuedForRuns(path: string, runIds: readonly string[]): Map<string, number> {
  const out = new Map<string, number>();
  if (!runIds.length || !existsSync(path)) return out;
  const db = new Database(path, { readonly: true });
  try {
    db.exec("PRAGMA busy_timeout = 5000");
    const want = new Set(runIds);
    // one row per resource (one resource per run): parse each once
    const rows = db.query("SELECT resource, SUM(units) AS n FROM items GROUP BY resource").all() as {
      resource: string;
      n: number;
    }[];
    for (const r of rows) {
      let id: unknown;
      try {
        const res = JSON.parse(r.resource) as {
          attributes?: { key: string; value: { stringValue?: string } }[];
        };
        id = res.attributes?.find((a) => a.key === "tracer.run.id")?.value.stringValue;
      } catch {}
      if (typeof id === "string" && want.has(id)) out.set(id, (out.get(id) ?? 0) + r.n);
    }
  } finally {
    db.close();
  }
  return out;
}
