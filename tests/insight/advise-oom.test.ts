/**
 * `tracer advise` and an OOM kill (issue 16): the grow step runs in two runs at 30 MiB, and in a third
 * inside a fresh 64 MiB memory cgroup where it asks for 100 MiB and the kernel's OOM killer ends it.
 * The advice flags the kill and suggests more than the limit it died at (recorded from the cgroup).
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, mkdirSync, rmdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cleanupTemp, ensureBuilt, isolatedEnv, run, tempDir } from "../helpers/harness.ts";
import { writeGrowPipeline } from "./_grow.ts";

const LIMIT = 64 << 20;

/** A memory cgroup with a 64 MiB limit (v2 or v1), or why one cannot be made here (as in oom.test.ts). */
function makeCgroup(name: string): { dir: string; remove: () => void } | string {
  const v2 = existsSync("/sys/fs/cgroup/cgroup.controllers");
  const dir = join(v2 ? "/sys/fs/cgroup" : "/sys/fs/cgroup/memory", name);
  try {
    mkdirSync(dir);
  } catch (e) {
    return `cannot create a memory cgroup: ${(e as Error).message}`;
  }
  const remove = () => rmdirSync(dir);
  try {
    const files = v2
      ? [
          ["memory.max", String(LIMIT)],
          ["memory.swap.max", "0"],
        ]
      : [
          ["memory.limit_in_bytes", String(LIMIT)],
          ["memory.memsw.limit_in_bytes", String(LIMIT)],
        ];
    for (const [f, v] of files)
      if (f === files[0]![0] || existsSync(join(dir, f!))) writeFileSync(join(dir, f!), v!);
    return { dir, remove };
  } catch (e) {
    remove();
    return `cannot limit a memory cgroup: ${(e as Error).message}`;
  }
}

const cg = makeCgroup(`tracer-advise-oom-${process.pid}`);
if (typeof cg === "string") console.warn(`skipping the advise OOM test: ${cg}`);
let env: Record<string, string>;

beforeAll(async () => {
  if (typeof cg === "string") return;
  await ensureBuilt();
  const dir = tempDir();
  writeGrowPipeline(dir);
  env = isolatedEnv();
  const runs: string[][] = [
    ["./pipeline.sh", "30", "0"],
    ["./pipeline.sh", "30", "0"],
    // the pipeline's shell joins the limited cgroup, so grow starts inside it
    ["sh", "-c", `echo $$ > ${cg.dir}/cgroup.procs && exec ./pipeline.sh 100 0`],
  ];
  for (const cmd of runs) {
    const r = await run(["run", "--quiet", "--pipeline", "grow", "--", ...cmd], { env, cwd: dir });
    expect(r.code).toBe(0);
  }
});
afterAll(() => {
  if (typeof cg !== "string") cg.remove();
  cleanupTemp();
});

test.skipIf(typeof cg === "string")(
  "an OOM-killed step is flagged; its suggestion is above the limit it died at",
  async () => {
    const j = JSON.parse((await run(["advise", "--format", "json"], { env })).stdout);
    const grow = j.steps.find((s: { name: string }) => s.name === "grow");
    expect(grow.oom_kills).toBe(1);
    expect(grow.failures).toBe(1);
    // it died on the way to 100 MiB (its RSS counts shared pages the cgroup does not charge: can pass 64)
    expect(grow.oom_peak_bytes).toBeGreaterThan(0);
    expect(grow.oom_peak_bytes).toBeLessThan(100 << 20);
    // the limit was read from the cgroup when the kill was seen, and set the suggestion: 1.5 × 64 MiB
    expect(grow.oom_limit_bytes).toBe(LIMIT);
    expect(grow.suggest.memory_basis).toBe("oom-limit");
    expect(grow.suggest.memory_bytes).toBeGreaterThan(LIMIT);
    expect(grow.suggest.memory_bytes).toBeGreaterThanOrEqual(1.5 * LIMIT);
    const t = await run(["advise"], { env });
    expect(t.stdout).toMatch(/OOM-killed 1×.*grow$/m);
    const nf = await run(["advise", "--format", "nextflow"], { env });
    expect(nf.stdout).toMatch(/^\/\/ grow: OOM-killed 1× \(limit 64MiB, peak then [\d.]+MiB\)$/m);
  },
);
