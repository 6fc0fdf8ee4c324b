/**
 * A real 3,000-process pipeline recorded with the compiled binary: 20 steps (one script each, two of
 * them both named `sort.sh` in different directories), each forking and exec'ing /bin/true 148 times.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ensureBuilt, isolatedEnv, run, tempDir } from "../helpers/harness.ts";
import type { Recorded } from "./_pipeline.ts";

export const STEPS = 20;
/** processes each step's script starts: seq, then /bin/true this many times */
export const PER_STEP = 148;

const step = `#!/bin/bash
for i in $(seq ${PER_STEP}); do /bin/true; done
`;

/** Record it as run NAME in a private state dir; step k's script is `stepK.sh`, steps 2 and 3 `sort.sh`. */
export async function recordBigPipeline(name = "big"): Promise<Recorded> {
  await ensureBuilt();
  const dir = tempDir();
  const lines = ["#!/bin/bash"];
  for (let k = 1; k <= STEPS; k++) {
    const sub = join(dir, `s${k}`);
    mkdirSync(sub);
    const file = k === 2 || k === 3 ? "sort.sh" : `step${k}.sh`;
    writeFileSync(join(sub, file), step, { mode: 0o755 });
    lines.push(`./s${k}/${file}`);
  }
  writeFileSync(join(dir, "pipeline.sh"), `${lines.join("\n")}\n`, { mode: 0o755 });
  const env = isolatedEnv();
  const r = await run(["run", "--quiet", "--name", name, "--", "./pipeline.sh"], { env, cwd: dir });
  if (r.code !== 0) throw new Error(`tracer run failed (${r.code}): ${r.stderr}`);
  return { env, dir, name };
}
