/** The test pipeline of tracer diff and advise: steps `grow` (holds N MiB) and `check` (exits with E). */
import { chmodSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const PY = "/usr/bin/python3";

/** a pipeline of two python scripts started through their #! line: steps `grow` and `check` */
export function writeGrowPipeline(dir: string): void {
  // grow's RSS in all is its argument in MiB: the interpreter's own RSS plus bytes written (not
  // calloc'd, so every page is resident) up to it
  writeFileSync(
    join(dir, "grow"),
    [
      `#!${PY}`,
      "import sys, time",
      "rss = int([l for l in open('/proc/self/status') if l.startswith('VmRSS')][0].split()[1])",
      'x = b"x" * (((int(sys.argv[1]) << 10) - rss) << 10)',
      "time.sleep(0.3)",
      "",
    ].join("\n"),
  );
  writeFileSync(join(dir, "check"), `#!${PY}\nimport sys\nsys.exit(int(sys.argv[1]))\n`);
  writeFileSync(join(dir, "pipeline.sh"), `#!/bin/sh\n./grow "$1"\n./check "$2"\nexit 0\n`);
  for (const f of ["grow", "check", "pipeline.sh"]) chmodSync(join(dir, f), 0o755);
}
