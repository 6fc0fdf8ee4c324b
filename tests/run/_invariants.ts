/**
 * Invariants every stored run must keep (issue 12), checked on a run read back from the store:
 *  - no row ends before it starts;
 *  - one row per (pid, start ticks), and no pid stored twice with overlapping lives;
 *  - with no counted loss, every row but the roots has its parent in the run (roots: CMD in a
 *    `tracer run` run);
 *  - the run's totals (`tracer report --format json`) are the sums of its rows.
 * Returns the list of violations (empty when the run is sound), so a test shows them all at once.
 */
import type { Database } from "bun:sqlite";

export interface StoredRow {
  id: number;
  pid: number;
  startTicks: number;
  parentId: number | null;
  startedAt: number | null;
  endedAt: number | null;
  durationUs: number | null;
  userUs: number | null;
  systemUs: number | null;
  rchar: number | null;
  wchar: number | null;
  readBytes: number | null;
  writeBytes: number | null;
  comm: string | null;
  argv: string | null;
  exitCode: number | null;
  signal: number | null;
  peakRssKb: number | null;
}

export function rowsOf(db: Database, runId: string): StoredRow[] {
  return db
    .query(
      `SELECT id, pid, start_ticks AS startTicks, parent_id AS parentId, started_at AS startedAt,
       ended_at AS endedAt, duration_us AS durationUs, user_us AS userUs, system_us AS systemUs, rchar, wchar,
       read_bytes AS readBytes, write_bytes AS writeBytes, comm, argv, exit_code AS exitCode, signal,
       peak_rss_kb AS peakRssKb FROM processes WHERE run_id = ? ORDER BY id`,
    )
    .all(runId) as StoredRow[];
}

/** `totals` of `tracer report --format json` (docs/CLI.md) */
export interface Totals {
  cpu_hours: number;
  rchar: number;
  wchar: number;
  read_bytes: number;
  write_bytes: number;
  processes: number;
}

export function violations(
  rows: StoredRow[],
  o: { eventsLost: number; roots?: number; totals?: Totals },
): string[] {
  const out: string[] = [];
  const ids = new Set(rows.map((r) => r.id));
  const keys = new Map<string, number>();
  for (const r of rows) {
    if (r.startedAt !== null && r.endedAt !== null && r.endedAt < r.startedAt)
      out.push(`row ${r.id} (pid ${r.pid}) ends ${r.startedAt - r.endedAt} ms before it starts`);
    const k = `${r.pid}:${r.startTicks}`;
    keys.set(k, (keys.get(k) ?? 0) + 1);
  }
  for (const [k, n] of keys) if (n > 1) out.push(`${n} rows for (pid, start ticks) ${k}`);
  const byPid = Map.groupBy(rows, (r) => r.pid);
  for (const [pid, list] of byPid) {
    const sorted = list.toSorted((a, b) => (a.startedAt ?? 0) - (b.startedAt ?? 0));
    for (let i = 1; i < sorted.length; i++) {
      const prevEnd = sorted[i - 1]!.endedAt;
      if (prevEnd === null || prevEnd > (sorted[i]!.startedAt ?? Infinity))
        out.push(
          `pid ${pid} stored twice with overlapping lives (rows ${sorted[i - 1]!.id}, ${sorted[i]!.id})`,
        );
    }
  }
  if (o.eventsLost === 0) {
    const orphans = rows.filter((r) => r.parentId === null || !ids.has(r.parentId));
    if (orphans.length !== (o.roots ?? 1))
      out.push(
        `${orphans.length} rows without a parent in the run (want ${o.roots ?? 1}): ${orphans
          .slice(0, 5)
          .map((r) => `${r.pid} ${r.comm}`)
          .join(", ")}`,
      );
  }
  if (o.totals) {
    const sum = (f: (r: StoredRow) => number | null) => rows.reduce((a, r) => a + (f(r) ?? 0), 0);
    const cpuUs = sum((r) => (r.userUs ?? 0) + (r.systemUs ?? 0));
    // cpu_hours is printed to 12 decimals: 3.6 ns
    if (Math.abs(o.totals.cpu_hours * 3.6e9 - cpuUs) > 0.01)
      out.push(`total CPU ${o.totals.cpu_hours * 3.6e9} µs ≠ Σ rows ${cpuUs}`);
    const pairs = [
      ["rchar", "rchar"],
      ["wchar", "wchar"],
      ["read_bytes", "readBytes"],
      ["write_bytes", "writeBytes"],
    ] as const;
    for (const [t, k] of pairs)
      if (o.totals[t] !== sum((r) => r[k]))
        out.push(`total ${t} ${o.totals[t]} ≠ Σ rows ${sum((r) => r[k])}`);
    if (o.totals.processes !== rows.length)
      out.push(`total processes ${o.totals.processes} ≠ ${rows.length} rows`);
  }
  return out;
}
