/**
 * Large synthetic runs written straight into a store through its own API (StoreWriter, createRun,
 * finishRun): a 100,000-process run in a few seconds, no 100,000 real processes. Shared by the scale
 * tests and bench/scale.ts; one fixture per shape and size per test process (memoized), so several test
 * files reuse it.
 *
 * Shapes:
 * - "pipeline": a driver script whose children are tool invocations (bwa mem + 2 forks, samtools sort,
 *   gzip, a python script running `cat`) and plain helpers (/bin/true): about one step per 3 processes,
 *   with RSS samples for a tenth of the processes and one system point per 100 processes.
 * - "chain": a chain N deep, each process the parent of the next (what a fork-and-exit loop leaves).
 * - "long-argv": a driver and N − 1 children each `true` with one argument of ARGV_BYTES letters (what
 *   tests/fixtures/bigargv.c records), no two alike.
 */
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { type ProcessRecord, StoreWriter, createRun, finishRun, openStore } from "../../src/store/index.ts";
import { run } from "./harness.ts";
import { sharedDir } from "./shared-dirs.ts";

export type Shape = "pipeline" | "chain" | "long-argv";

/** the argument of each process of the "long-argv" shape, bytes (64 KB: about the recorded cap) */
export const ARGV_BYTES = 64_000;

export interface BigRun {
  /** state dir holding tracer.db (TRACER_STATE_DIR) */
  stateDir: string;
  dbPath: string;
  runId: string;
  name: string;
  processes: number;
  /** recordedChain: the recorder's peak RSS while it recorded the run, bytes (tests/fixtures/maxrss.c) */
  recorderPeakRssBytes?: number;
}

const T0 = Date.UTC(2026, 0, 1);
/** the commands of the "pipeline" shape; every file name differs (no two command lines are alike) */
const TOOLS: ((i: number) => string[])[] = [
  (i) => ["bwa", "mem", "-t", "4", "ref.fa", `reads_${i}.fq`],
  (i) => ["samtools", "sort", "-o", `out_${i}.bam`, `in_${i}.bam`],
  (i) => ["gzip", "-c", `out_${i}.vcf`],
  (i) => ["python3", "scripts/filter.py", "--min-q", "30", `sample_${i}.tsv`],
  (i) => ["/bin/true", `${i}`],
];

/** Write a synthetic run of `n` processes into a new store under a fresh temp dir. */
export function writeBigRun(shape: Shape, n: number, dir = sharedDir()): BigRun {
  const stateDir = join(dir, "state");
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const dbPath = join(stateDir, "tracer.db");
  const db = openStore(dbPath);
  const runId = Bun.randomUUIDv7();
  const name = `${shape}-${n}`;
  createRun(db, {
    id: runId,
    name,
    pipeline: "bench",
    command:
      shape === "chain"
        ? ["./chain", String(n)]
        : shape === "long-argv"
          ? ["./bigargv", String(n - 1), String(ARGV_BYTES)]
          : ["bash", "pipeline.sh"],
    cwd: "/work",
    host: "bench",
    mode: "connector+taskstats",
    recorderPid: process.pid,
    startedAt: T0,
  });
  const w = new StoreWriter(db, runId);
  let made = 0;
  const rec = (parent: ProcessRecord | undefined, argv: string[], i: number): ProcessRecord => {
    made++;
    const startedAt = T0 + i;
    const p: ProcessRecord = {
      pid: 1000 + i,
      startTicks: 100 + i,
      ppid: parent?.pid ?? 1,
      parent,
      comm: argv[0]!.slice(argv[0]!.lastIndexOf("/") + 1).slice(0, 15),
      argv,
      cwd: "/work",
      startedAt,
      endedAt: startedAt + 5,
      durationUs: 5000,
      exitCode: i % 997 === 0 ? 1 : 0,
      userUs: 1000 + (i % 50),
      systemUs: 500,
      peakRssKb: 1000 + (i % 4096),
      rchar: 4096,
      wchar: 1024,
      readBytes: 0,
      writeBytes: 4096,
      figures: "taskstats",
    };
    w.process(p);
    if (shape === "pipeline" && i % 10 === 0)
      w.sample(p, { at: T0 + 1000 * Math.floor(i / 1000), cpuPct: 50, rssKb: 900 + (i % 100) });
    if (shape === "pipeline" && i % 100 === 0)
      w.system({
        at: startedAt,
        cpuPct: 40,
        memTotalKb: 16e6,
        memUsedKb: 4e6,
        swapTotalKb: 0,
        swapUsedKb: 0,
        load1: 1,
        load5: 1,
        load15: 1,
        diskTotalBytes: 1e12,
        diskUsedBytes: 5e11,
      });
    // bounded memory for the fixture itself: write in batches
    if (made % (shape === "long-argv" ? 100 : 5000) === 0) w.flush();
    return p;
  };
  if (shape === "chain") {
    let parent: ProcessRecord | undefined;
    for (let i = 0; i < n; i++) parent = rec(parent, ["./chain", String(n - i)], i);
  } else if (shape === "long-argv") {
    const root = rec(undefined, ["./bigargv", String(n - 1), String(ARGV_BYTES)], 0);
    const letters = "abcdefghijklmnopqrstuvwxyz".repeat(Math.ceil(ARGV_BYTES / 26) + 1);
    for (let i = 1; i < n; i++) {
      const arg = `${i}:${letters.slice(i % 26, (i % 26) + ARGV_BYTES)}`.slice(0, ARGV_BYTES);
      rec(root, ["true", arg], i);
    }
  } else {
    const root = rec(undefined, ["bash", "pipeline.sh"], 0);
    for (let i = 1; made < n; i++) {
      const argv = TOOLS[i % TOOLS.length]!(i);
      const p = rec(root, argv, made);
      if (made < n && argv[0] === "bwa") rec(p, argv, made); // a fork that did not exec
      if (made < n && argv[0] === "bwa") rec(p, ["/bin/sh", "-c", `gzip -dc reads_${i}.fq.gz`], made);
      if (made < n && argv[0] === "python3") rec(p, ["cat", `in_${i}.txt`], made);
    }
  }
  w.flush();
  finishRun(db, runId, { endedAt: T0 + n + 10, exitCode: 0, eventsLost: 0, mode: "connector+taskstats" });
  db.close();
  return { stateDir, dbPath, runId, name, processes: made };
}

const cache = new Map<string, BigRun>();
const compiled = new Map<string, string>();

/** Compile one of tests/fixtures/*.c into the shared temp dir (once per process); the path of the program. */
export function cProgram(name: string): string {
  const key = `c:${name}`;
  const known = compiled.get(key);
  if (known) return known;
  const out = join(sharedDir(), name);
  const cc = Bun.spawnSync(["cc", "-O2", "-o", out, join(import.meta.dir, "..", "fixtures", `${name}.c`)]);
  if (cc.exitCode !== 0) throw new Error(`cc ${name}.c failed: ${cc.stderr.toString()}`);
  compiled.set(key, out);
  return out;
}

/**
 * `cmd` run to its end under tests/fixtures/maxrss.c: its output, exit code and its own peak RSS (bytes).
 * A child Bun spawns (vfork) starts at this process's high-water mark (hundreds of MB once a fixture is
 * built), so Bun's resourceUsage().maxRSS is not the child's.
 */
export async function withPeakRss(cmd: string[], env: Record<string, string | undefined>) {
  const out = join(sharedDir(), `maxrss-${process.pid}-${++peakRuns}`);
  const r = await run([out, ...cmd], { bin: cProgram("maxrss"), env });
  return { ...r, peakBytes: Number(readFileSync(out, "utf8")) * 1024 };
}
let peakRuns = 0;

/**
 * A real chain run: `tracer run -- chain N` (tests/fixtures/chain.c) recorded by the compiled binary
 * into a fresh state dir, once per process, under tests/fixtures/maxrss.c (the recorder's own peak RSS:
 * a child that Bun vforks would start from this process's high-water mark). Takes about 15 s for
 * N = 100,000 here. `take` > 1: another recording of its own (another run in the same store).
 */
export async function recordedChain(n: number, bin: string, take = 1): Promise<BigRun> {
  const key = `recorded:${n}:${take}`;
  const known = cache.get(key);
  if (known) return known;
  const chain = cProgram("chain");
  const stateDir = join(sharedDir(), "state");
  const name = take === 1 ? `chain-${n}` : `chain-${n}-${take}`;
  const env = {
    ...process.env,
    NO_COLOR: "1",
    TRACER_STATE_DIR: stateDir,
    TRACER_RUNTIME_DIR: `${stateDir}-run`,
  };
  const rssFile = join(sharedDir(), `maxrss-${n}-${take}`);
  const p = Bun.spawn(
    [cProgram("maxrss"), rssFile, bin, "run", "--quiet", "--name", name, "--", chain, String(n)],
    {
      env,
      stdin: "ignore",
      stdout: "ignore",
      stderr: "pipe",
    },
  );
  const [code, err] = await Promise.all([p.exited, new Response(p.stderr).text()]);
  if (code !== 0)
    throw new Error(
      `tracer run -- chain ${n}: exit ${code}${code === 4 ? " (a fork of the chain failed: the host is out of pids)" : ""}: ${err}`,
    );
  const db = openStore(join(stateDir, "tracer.db"), { readonly: true });
  const row = db
    .query("SELECT r.id, count(p.id) AS n FROM runs r JOIN processes p ON p.run_id = r.id WHERE r.name = ?")
    .get(name) as {
    id: string;
    n: number;
  };
  db.close();
  const r = {
    stateDir,
    dbPath: join(stateDir, "tracer.db"),
    runId: row.id,
    name,
    processes: row.n,
    recorderPeakRssBytes: Number(readFileSync(rssFile, "utf8")) * 1024,
  };
  cache.set(key, r);
  return r;
}

/** The same fixture for every caller in this process: built on first use, removed when the process exits. */
export function bigRun(shape: Shape, n: number): BigRun {
  const key = `${shape}:${n}`;
  let r = cache.get(key);
  if (!r) {
    r = writeBigRun(shape, n);
    cache.set(key, r);
  }
  return r;
}
