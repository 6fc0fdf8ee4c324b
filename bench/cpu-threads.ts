#!/usr/bin/env bun
/**
 * Where a many-threaded process's CPU goes missing: not a test, the figures are quoted in
 * docs/CAPTURE.md. Runs tests/fixtures/threads.c (N threads, one after another or all at once, each
 * spinning BURN ms in user space) under `tracer run` with the oracle, while a taskstats listener of
 * its own keeps every per-thread exit record. Per case it prints, in ms: wait4 rusage (the truth),
 * tracer's stored user+sys, the AGGR_TGID runtime, the sum of the per-thread records' runtimes, the
 * fixture's own process CPU clock just before it returned from main (all threads were joined),
 * and the loss per thread ((rusage − tracer) / threads).
 * Usage: bun bench/cpu-threads.ts [rounds=1]   (root: taskstats)
 */
import { Database } from "bun:sqlite";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { TaskRecord } from "../src/observe/_netlink-parse.ts";
import { TaskstatsSource } from "../src/observe/taskstats.ts";
import { cProgram } from "../tests/helpers/bigrun.ts";
import { oracleBinary, readTruths } from "../tests/oracle/index.ts";

const rounds = Number(process.argv[2] ?? 1);
const root = resolve(import.meta.dir, "..");
const bin = join(root, "dist", "tracer");
const dir = mkdtempSync(join(tmpdir(), "tracer-cpu-threads-"));
const env = {
  ...process.env,
  NO_COLOR: "1",
  TRACER_STATE_DIR: join(dir, "state"),
  TRACER_RUNTIME_DIR: join(dir, "run"),
};
const O = oracleBinary();
const fixture = cProgram("threads");

const records = new Map<number, { recs: TaskRecord[]; aggr?: TaskRecord }>();
const ts = new TaskstatsSource({
  onRecord: (rec, aggr) => {
    const g = records.get(rec.tgid) ?? { recs: [] };
    records.set(rec.tgid, g);
    g.recs.push(rec);
    if (aggr) g.aggr = aggr;
  },
});
await ts.start();

const CASES: [mode: string, n: number, burnMs: number, fold?: "fold"][] = [
  ["seq", 1, 20],
  ["seq", 10, 5],
  ["seq", 10, 20],
  ["seq", 100, 5],
  ["seq", 100, 20],
  ["conc", 10, 20],
  ["conc", 100, 5],
  ["conc", 100, 20],
  ["seq", 100, 5, "fold"],
  ["conc", 100, 5, "fold"],
];
const ms = (ns: number) => (ns / 1e6).toFixed(2);
console.log(
  "mode  N    burn  | rusage    tracer    aggr      Σthreads  clock@main | tracer−rusage  per thread  | records",
);
try {
  for (let round = 0; round < rounds; round++)
    for (const [mode, n, burn, fold] of CASES) {
      const out = join(dir, `truth-${round}-${mode}-${n}-${burn}-${fold ?? ""}.jsonl`);
      const name = `threads ${mode} ${n} ${burn}${fold ? " fold" : ""} r${round}`;
      const r = Bun.spawnSync(
        [
          bin,
          "run",
          "--quiet",
          "--name",
          name,
          "--",
          O,
          out,
          fixture,
          mode,
          String(n),
          String(burn),
          ...(fold ? ["0", fold] : []),
        ],
        { env, stdout: "pipe", stderr: "pipe" },
      );
      if (r.exitCode !== 0) throw new Error(`${name}: exit ${r.exitCode} ${r.stderr.toString()}`);
      const clockNs = Number(r.stdout.toString().trim());
      const truth = readTruths(out)[0]!;
      const db = new Database(join(env.TRACER_STATE_DIR, "tracer.db"), { readonly: true });
      const row = db
        .query(
          `SELECT p.user_us AS u, p.system_us AS s, p.figures AS f FROM processes p JOIN runs r ON r.id = p.run_id
           WHERE r.name = ? AND p.pid = ?`,
        )
        .get(name, truth.pid) as { u: number; s: number; f: string };
      db.close();
      ts.sync();
      const g = records.get(truth.pid);
      const sumNs = g?.recs.reduce((a, x) => a + x.cpuRunNs, 0) ?? 0;
      const rusUs = truth.userUs + truth.systemUs;
      const gotUs = row.u + row.s;
      const lossUs = rusUs - gotUs;
      console.log(
        `${(mode + (fold ? "+f" : "")).padEnd(6)}${String(n).padEnd(4)} ${String(burn).padStart(2)} ms | ${ms(rusUs * 1e3).padStart(8)} ${ms(gotUs * 1e3).padStart(9)} ${ms(g?.aggr?.cpuRunNs ?? 0).padStart(9)} ${ms(sumNs).padStart(9)} ${ms(clockNs).padStart(9)}  | ${(-lossUs / 1e3).toFixed(2).padStart(9)} ms  ${(lossUs / 1e3 / (n + 1)).toFixed(3).padStart(7)} ms | ${g?.recs.length ?? 0} (${row.f})`,
      );
      if (process.env.DUMP)
        for (const x of g?.recs ?? [])
          console.log(
            `    tid ${x.pid} run ${ms(x.cpuRunNs)} ticks u ${x.utimeUs / 1e3} s ${x.stimeUs / 1e3} etime ${x.etimeUs / 1e3}`,
          );
      records.delete(truth.pid);
    }
} finally {
  await ts.stop();
  rmSync(dir, { recursive: true, force: true });
}
