/** Runs written straight through the store API (no recording), for tests of what reports read. */
import type { Database } from "bun:sqlite";
import { type ProcessRecord, StoreWriter, createRun } from "../../src/store/index.ts";

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

/**
 * Run "run-1" named `name` (command `bash x.sh`, cwd /w, started at 1000) and `rec`, which writes one
 * ended process after another: pid 101, 102, …, each 1 ms long from 1000 + its number, 10 µs of CPU,
 * 100 KiB peak, exit `exitCode(n)`. `comm` defaults to argv[0].
 */
export function syntheticRun(db: Database, name = "r", exitCode: (n: number) => number = () => 0) {
  createRun(db, {
    id: "run-1",
    name,
    pipeline: "p",
    command: ["bash", "x.sh"],
    cwd: "/w",
    host: "h",
    mode: "proc-poll",
    recorderPid: process.pid,
    startedAt: 1000,
  });
  const w = new StoreWriter(db, "run-1");
  let n = 0;
  const rec = (
    parent: ProcessRecord | undefined,
    argv: string[] | undefined,
    comm = argv?.[0] ?? "?",
  ): ProcessRecord => {
    n++;
    const p: ProcessRecord = {
      pid: 100 + n,
      startTicks: n,
      parent,
      comm,
      argv,
      cwd: "/w",
      startedAt: 1000 + n,
      endedAt: 1000 + n + 1,
      exitCode: exitCode(n),
      userUs: 10,
      systemUs: 0,
      peakRssKb: 100,
    };
    w.process(p);
    return p;
  };
  return { w, rec };
}
