/**
 * The Snakemake workflow of ./_snakemake.ts with every job's command run inside the oracle
 * (tests/oracle), through Snakemake's `shell.prefix`/`shell.suffix`, traced by `tracer run`; each
 * oracle truth paired with its job step. Shared by tests/report/snakemake-oracle.test.ts and
 * bench/accuracy-snakemake.ts.
 *
 * A job is Snakemake's `bash -c 'PREFIX cmd SUFFIX'` (the step's root), so with
 *   PREFIX = `ORACLE OUT bash -euo pipefail -c '`   SUFFIX = `'; exit $?`
 * the job shell forks the oracle, which forks an inner `bash -c cmd` running the job's whole command
 * (the `exit $?` keeps bash from exec'ing into the oracle: the step root must stay a `bash -c`).
 * The oracle's wait4 rusage covers the inner shell and every descendant it reaped: the job's tools.
 * The step holds, besides, the job shell and the oracle: a few ms of bash start-up and exit.
 */
import type { Database } from "bun:sqlite";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { StoredRow } from "../run/_invariants.ts";
import type { Truth } from "../oracle/index.ts";
import { SNAKEFILE } from "./_snakemake.ts";

/** The Snakefile with every job's command wrapped in the oracle, appending its truth to `out`. */
export function writeOracleSnakefile(dir: string, oracle: string, out: string): void {
  if (SNAKEFILE.includes("'") || /[{}'\s]/.test(oracle + out))
    throw new Error("the oracle prefix quotes the job's command in '…': no quotes or blanks allowed");
  const prefix = `${oracle} ${out} bash -euo pipefail -c '`;
  writeFileSync(
    join(dir, "Snakefile"),
    `shell.prefix(${JSON.stringify(prefix)})\nshell.suffix("'; exit $?")\n${SNAKEFILE}`,
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
  /** the step root's row (the job shell), when the oracle's parent was found */
  root: StoredRow | undefined;
  /** the oracle's child (the inner bash) and its descendants, as stored */
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

/** Pair every truth with its job step: the step whose root is the parent of the truth's oracle. */
export function pair(rows: StoredRow[], steps: JobStep[], truths: Truth[]): Paired[] {
  const byId = new Map(rows.map((r) => [r.id, r]));
  return truths.map((truth) => {
    const inner = rows.find((r) => r.pid === truth.pid && r.startTicks === truth.startTicks);
    const oracle = inner?.parentId != null ? byId.get(inner.parentId) : undefined;
    const root = oracle?.parentId != null ? byId.get(oracle.parentId) : undefined;
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
