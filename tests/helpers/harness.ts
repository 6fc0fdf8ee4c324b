/** Shared test helpers: the real compiled binary, hermetic temp trees, isolated tracer dirs. */
import { existsSync, mkdtempSync, readFileSync, realpathSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

export const ROOT = resolve(import.meta.dir, "..", "..");
export const BIN = join(ROOT, "dist", "tracer");

/** Newest modification time of the sources the binary is built from. */
function newestSource(): number {
  let newest = 0;
  for (const dir of ["src", "ffi"])
    for (const f of new Bun.Glob("**/*").scanSync({ cwd: join(ROOT, dir) }))
      newest = Math.max(newest, statSync(join(ROOT, dir, f)).mtimeMs);
  return Math.max(newest, statSync(join(ROOT, "package.json")).mtimeMs);
}

/** Build dist/tracer if it is missing or older than its sources (.ci/run builds it before the tests). */
export async function ensureBuilt(): Promise<string> {
  if (!existsSync(BIN) || statSync(BIN).mtimeMs < newestSource()) {
    const { build } = await import("../../scripts/build.ts");
    await build();
  }
  return BIN;
}

const made: string[] = [];
/** A fresh directory under realpath(tmpdir), removed by cleanupTemp(). */
export function tempDir(prefix = "tracer-test-"): string {
  const d = mkdtempSync(join(realpathSync(tmpdir()), prefix));
  made.push(d);
  return d;
}
export function cleanupTemp() {
  for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
}

/** Environment for a tracer whose state/runtime dirs are private to one test. */
export function isolatedEnv(extra: Record<string, string> = {}): Record<string, string> {
  const base = tempDir();
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
  return {
    ...env,
    NO_COLOR: "1",
    TRACER_STATE_DIR: join(base, "state"),
    TRACER_RUNTIME_DIR: join(base, "run"),
    ...extra,
  };
}

export interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run the compiled binary (or `bin`) and collect its output. */
export async function run(
  args: string[],
  opts: {
    env?: Record<string, string | undefined>;
    cwd?: string;
    bin?: string;
    argv0?: string;
    stdin?: string;
  } = {},
): Promise<Result> {
  const p = Bun.spawn([opts.bin ?? BIN, ...args], {
    env: opts.env ?? isolatedEnv(),
    cwd: opts.cwd,
    argv0: opts.argv0,
    stdin: opts.stdin === undefined ? "ignore" : new Blob([opts.stdin]),
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, code] = await Promise.all([
    new Response(p.stdout).text(),
    new Response(p.stderr).text(),
    p.exited,
  ]);
  return { code, stdout, stderr };
}

/**
 * A process that still runs. A zombie counts as gone: a daemon has no parent but PID 1, and this
 * machine's PID 1 reaps orphans only every few seconds; a zombie holds no fds, memory or locks.
 */
export const pidAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat[stat.lastIndexOf(")") + 2] !== "Z";
  } catch {
    return false;
  }
};

/** Wait until `check` is true, polling; throws after `ms`. */
export async function waitFor(check: () => boolean | Promise<boolean>, ms = 5000, what = "condition") {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(10);
  }
}
