/** A small real pipeline recorded with the compiled binary: four steps, one of them failing. */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { ensureBuilt, isolatedEnv, run, tempDir } from "../helpers/harness.ts";

export const PIPELINE = `#!/bin/bash
# data, then sort, a script, gzip and a step that fails (the pipeline goes on)
seq 1 300000 | awk '{ print ($1 * 7919) % 100003 }' > numbers.txt
sort -n numbers.txt > sorted.txt
/usr/bin/python3 summarize.py sorted.txt > summary.txt
gzip -6 -c sorted.txt > sorted.txt.gz
sort --no-such-flag numbers.txt 2>/dev/null || true
`;

const SCRIPT = `import sys
n = 0
with open(sys.argv[1]) as f:
    for line in f:
        n += int(line)
print(n)
`;

export interface Recorded {
  env: Record<string, string>;
  dir: string;
  name: string;
}

/**
 * Record the pipeline as run NAME in a private state dir, sampled every 50 ms: the pipeline takes ~0.2 s
 * here, and at 0.1 s its memory was sampled at one instant in most runs (an HTML line of one point)
 */
export async function recordPipeline(name = "report-test"): Promise<Recorded> {
  await ensureBuilt();
  const dir = tempDir();
  writeFileSync(join(dir, "pipeline.sh"), PIPELINE, { mode: 0o755 });
  writeFileSync(join(dir, "summarize.py"), SCRIPT);
  const env = isolatedEnv();
  const r = await run(["run", "--quiet", "--interval", "0.05", "--name", name, "--", "./pipeline.sh"], {
    env,
    cwd: dir,
  });
  if (r.code !== 0) throw new Error(`tracer run failed (${r.code}): ${r.stderr}`);
  return { env, dir, name };
}
