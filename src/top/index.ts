/**
 * `tracer top`: a live view of runs being recorded, read from the store. TopSession polls the store
 * (src/top/watch.ts) into a Snapshot (src/top/model.ts); src/top/render.ts draws it; src/top/screen.ts
 * runs the full-screen loop on a terminal.
 */
import type { Database } from "bun:sqlite";
import { existsSync } from "node:fs";
import type { RuleSet } from "../rules/index.ts";
import { defaultDbPath, findRun, openStore } from "../store/index.ts";
import { topRun } from "./model.ts";
import type { Snapshot, TopRun } from "./types.ts";
import { RunWatch, activeRunIds, newestRunId } from "./watch.ts";

export {
  type Screen,
  SNAPSHOT_CELL_COLUMNS,
  SORT_KEYS,
  type SortKey,
  type View,
  fit,
  orderSteps,
  render,
} from "./render.ts";
export { topRun } from "./model.ts";
export { RunWatch, activeRunIds } from "./watch.ts";
export type { RunState, Snapshot, TopProcess, TopRun, TopStep } from "./types.ts";

export interface TopOptions {
  /** a run id, id prefix or name; default: the active runs (the newest run when none is active) */
  run?: string;
  rules: RuleSet;
  /** default: the state dir's tracer.db */
  dbPath?: string;
}

/** The runs `tracer top` follows, polled into snapshots. Errors: E_RUN_NOT_FOUND for an unknown `run`. */
export class TopSession {
  private db: Database | undefined;
  private readonly watches = new Map<string, RunWatch>();
  /** the newest run, shown while no run is active */
  private fallback: string | undefined;

  constructor(private readonly opts: TopOptions) {}

  poll(now = Date.now()): Snapshot {
    const path = this.opts.dbPath ?? defaultDbPath();
    if (!this.db) {
      if (!existsSync(path)) return { at: now, runs: [], note: "no runs recorded yet" };
      this.db = openStore(path, { readonly: true });
    }
    const db = this.db;
    if (this.opts.run !== undefined) {
      if (!this.watches.size) this.follow(findRun(db, this.opts.run).id);
    } else {
      const active = activeRunIds(db);
      if (active.length && this.fallback !== undefined) {
        this.watches.delete(this.fallback);
        this.fallback = undefined;
      }
      for (const id of active) this.follow(id);
      if (!this.watches.size) {
        this.fallback = newestRunId(db);
        if (this.fallback !== undefined) this.follow(this.fallback);
      }
    }
    const runs: TopRun[] = [];
    let removed = 0;
    for (const [id, w] of this.watches) {
      const state = w.poll(now);
      if (state) runs.push(topRun(state, now));
      else if (this.opts.run !== undefined) removed++;
      // removed from the store (tracer runs rm): no longer followed
      else this.watches.delete(id);
      if (!state && id === this.fallback) this.fallback = undefined;
    }
    const note = removed
      ? `run ${this.opts.run} was removed from the store`
      : this.fallback !== undefined
        ? "no active run: showing the newest run"
        : undefined;
    return { at: now, runs, note };
  }

  private follow(id: string) {
    if (!this.watches.has(id)) this.watches.set(id, new RunWatch(this.db!, id, this.opts.rules));
  }

  close() {
    this.db?.close();
    this.db = undefined;
  }
}

/** how long a one-shot snapshot waits for its live processes' I/O rates (ms): past two sampling intervals */
const RATE_WAIT_MS = 2500;
const RATE_POLL_MS = 250;

/**
 * A one-shot snapshot (not a terminal) with I/O rates: a rate is the change between two samples, which
 * one poll cannot see, so while a live process has none the session is polled again, every
 * RATE_POLL_MS up to RATE_WAIT_MS (the recorder samples every second by default). No live process: no
 * wait; one whose I/O is unknown (another user's) waits the whole time and stays "-".
 */
export async function settledSnapshot(session: TopSession): Promise<Snapshot> {
  const lacking = (s: Snapshot) =>
    s.runs.some(
      (r) =>
        r.other.some((p) => p.ioRate === null) ||
        r.steps.some((st) => st.live.some((p) => p.ioRate === null)),
    );
  let snap = session.poll();
  for (const until = Date.now() + RATE_WAIT_MS; lacking(snap) && Date.now() < until; ) {
    await Bun.sleep(RATE_POLL_MS);
    snap = session.poll();
  }
  return snap;
}
