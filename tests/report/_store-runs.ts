/** Runs written straight through the store API (no recording), for tests of what reports read. */
import type { Database } from "bun:sqlite";
import { StoreWriter, createRun } from "../../src/store/index.ts";

/** 2026-01-01, epoch ms: the runs' start */
export const T0 = Date.UTC(2026, 0, 1);

/** A new run named `name` (its pipeline too), started at T0: its writer. */
export function newRun(db: Database, name: string): StoreWriter {
  const id = Bun.randomUUIDv7();
  createRun(db, {
    id,
    name,
    pipeline: name,
    command: ["sh"],
    cwd: "/",
    host: "h",
    mode: "connector+taskstats",
    recorderPid: 1,
    startedAt: T0,
  });
  return new StoreWriter(db, id);
}
