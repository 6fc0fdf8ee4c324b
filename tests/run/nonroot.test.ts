/**
 * Without root: `tracer run` as user nobody works in a degraded mode (connector without taskstats on
 * kernels ≥ 6.6, else /proc polling), with the same init duties and CMD's exit status.
 */
import { afterAll, expect, test } from "bun:test";
import { chmodSync, chownSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { BIN, cleanupTemp, tempDir } from "../helpers/harness.ts";
import { start } from "./_helpers.ts";

afterAll(cleanupTemp);

const NOBODY = 65534;
const root = process.getuid?.() === 0;
const setpriv = Bun.spawnSync(["sh", "-c", "command -v setpriv"]).exitCode === 0;
if (!root || !setpriv) console.warn("skipping the non-root test: needs root (to drop to nobody) and setpriv");

test.skipIf(!root || !setpriv)(
  "as nobody: a degraded mode, exit 3 passed through, the tree recorded",
  async () => {
    const base = tempDir();
    chmodSync(base, 0o755);
    for (const d of ["state", "run"]) {
      mkdirSync(join(base, d), { mode: 0o700 });
      chownSync(join(base, d), NOBODY, NOBODY);
    }
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      HOME: base,
      NO_COLOR: "1",
      TRACER_STATE_DIR: join(base, "state"),
      TRACER_RUNTIME_DIR: join(base, "run"),
    };
    const asNobody = (args: string[]) =>
      start(["setpriv", `--reuid=${NOBODY}`, `--regid=${NOBODY}`, "--clear-groups", BIN, ...args], env).done;
    const r = await asNobody(["run", "--", "sh", "-c", "sleep 0.2; id -u; exit 3"]);
    expect(r.code).toBe(3);
    expect(r.stdout).toBe(`${NOBODY}\n`);
    const rep = await asNobody(["report", "--json"]);
    const { run, processes } = JSON.parse(rep.stdout) as {
      run: { mode: string };
      processes: { argv: string[] | null }[];
    };
    expect(["connector", "proc-poll"]).toContain(run.mode);
    expect(processes.some((p) => p.argv?.join(" ") === "sleep 0.2")).toBe(true);
  },
);
