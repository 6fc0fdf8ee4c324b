/**
 * The Snakemake workflow of ./_snakemake.ts with every job run inside the oracle (tests/oracle),
 * traced by `tracer run`; each oracle truth paired with its job step. Shared by
 * tests/report/snakemake-oracle.test.ts and bench/accuracy-snakemake.ts.
 *
 * Snakemake runs a job as `SHELL -c 'set -euo pipefail; cmd'` (Python's Popen with shell=True and
 * `executable=SHELL`, forked by the Snakemake process: tracer's step root). The Snakefile sets
 * SHELL to the oracle's shell stand-in (`shell.executable`, tests/oracle oracleShell: a symlink named
 * `bash`), so the job's root *is* the oracle: it forks `/bin/bash -c 'set -euo pipefail; cmd'`, which
 * runs the job's tools, and measures that child from fork to reap. The step tracer reports is then the
 * oracle's fork→reap plus the oracle's own exec, start-up and exit (its in-process part is in the
 * truth: mainMonoNs, doneMonoNs and its own rusage); its CPU is the child's rusage (every descendant
 * reaped) plus the oracle's own.
 */
import type { Database } from "bun:sqlite";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { StoredRow } from "../run/_invariants.ts";
import { oracleShell, type Truth } from "../oracle/index.ts";
import { SNAKEFILE } from "./_snakemake.ts";

/** The Snakefile with every job run by the oracle as its shell, appending its truth to `out`. */
export function writeOracleSnakefile(dir: string, oracle: string, out: string): void {
  const sh = oracleShell(oracle, join(dir, "oracle-shell"), out);
  writeFileSync(
    join(dir, "Snakefile"),
    `import os\nos.environ.update(${JSON.stringify(sh.env)})\nshell.executable(${JSON.stringify(sh.path)})\n${SNAKEFILE}`,
  );
}

/** One job step of `tracer report --format json` (the fields used here). */
export interface JobStep {
  name: string;
  kind: string;
  pid: number;
  started_at: string;
  duration_ms: number | null;
  cpu_seconds: number;
  processes: number;
  failed: boolean;
}

/** A truth, the job step that holds it, and tracer's figures for the oracle's child's subtree. */
export interface Paired {
  truth: Truth;
  step: JobStep | undefined;
  /** the step root's row: the oracle (Snakemake's job shell), when the child's parent was found */
  root: StoredRow | undefined;
  /** the oracle's child (`/bin/bash -c cmd`) and its descendants, as stored */
  subtree: StoredRow[];
  /** over the subtree: first start, last end (epoch ms), CPU user+system (µs) */
  start: number | null;
  end: number | null;
  cpuUs: number;
  /** over the step (root and descendants, from the rows): first start, last end (epoch ms) */
  stepStart: number | null;
  stepEnd: number | null;
}

/** The descendants of `root` (and itself) among `rows`. */
export function subtreeOf(rows: StoredRow[], root: StoredRow): StoredRow[] {
  const kids = Map.groupBy(rows, (r) => r.parentId ?? -1);
  const out: StoredRow[] = [];
  const stack = [root];
  while (stack.length) {
    const r = stack.pop()!;
    out.push(r);
    stack.push(...(kids.get(r.id) ?? []));
  }
  return out;
}

const span = (rs: StoredRow[]) => {
  const starts = rs.map((r) => r.startedAt).filter((x): x is number => x !== null);
  const ends = rs.map((r) => r.endedAt).filter((x): x is number => x !== null);
  return {
    start: starts.length ? Math.min(...starts) : null,
    end: ends.length === rs.length ? Math.max(...ends) : null,
  };
};

/** Pair every truth with its job step: the step whose root is the truth's oracle. */
export function pair(rows: StoredRow[], steps: JobStep[], truths: Truth[]): Paired[] {
  const byId = new Map(rows.map((r) => [r.id, r]));
  return truths.map((truth) => {
    const inner = rows.find((r) => r.pid === truth.pid && r.startTicks === truth.startTicks);
    const oracle = inner?.parentId != null ? byId.get(inner.parentId) : undefined;
    const root = oracle?.pid === truth.oraclePid ? oracle : undefined;
    const step = root ? steps.find((s) => s.kind === "snakemake-job" && s.pid === root.pid) : undefined;
    const subtree = inner ? subtreeOf(rows, inner) : [];
    const cpuUs = subtree.reduce((a, r) => a + (r.userUs ?? 0) + (r.systemUs ?? 0), 0);
    const stepSpan = root ? span(subtreeOf(rows, root)) : { start: null, end: null };
    return {
      truth,
      step,
      root,
      subtree,
      ...span(subtree),
      cpuUs,
      stepStart: stepSpan.start,
      stepEnd: stepSpan.end,
    };
  });
}

/** The run's stored rows and events lost, by run name. */
export function storedRun(db: Database, name: string): { id: string; eventsLost: number } {
  return db.query("SELECT id, events_lost AS eventsLost FROM runs WHERE name = ?").get(name) as {
    id: string;
    eventsLost: number;
  };
}
