/**
 * A store on a read-only file system (a results share mounted ro, a bind mount in a container) can be
 * read: runs, report and top open it read-only (they used to fail with EROFS on their write-mode open).
 * Recording still needs to write: tracer run refuses before CMD, says why and what to do, and shows no
 * internal /proc/self/fd path (found by a newcomer). A FIFO planted under the store's name is refused,
 * not waited on, now that readers open without O_RDWR.
 */
import { afterAll, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { BIN, cleanupTemp, isolatedEnv, tempDir } from "../helpers/harness.ts";

afterAll(cleanupTemp);

test("runs, report and top read a store on a read-only mount; tracer run refuses with a hint, CMD not run", () => {
  const env = isolatedEnv();
  const dir = env.TRACER_STATE_DIR!;
  const rec = Bun.spawnSync([BIN, "run", "--quiet", "--name", "ro", "--", "true"], { env });
  expect(rec.exitCode).toBe(0);
  const marker = join(tempDir(), "ran");
  // in a private mount namespace: the state dir bound onto itself read-only, then each command
  const script = `mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" || exit 99
"$2" runs; echo "runs=$?"
"$2" report ro --format json >/dev/null; echo "report=$?"
"$2" top ro | head -2; echo "top=$?"
"$2" run -- touch "$3"; echo "run=$?"`;
  const p = Bun.spawnSync(
    ["unshare", "-m", "--propagation", "private", "sh", "-c", script, "sh", dir, BIN, marker],
    {
      env,
      stdout: "pipe",
      stderr: "pipe",
    },
  );
  const out = p.stdout.toString();
  const err = p.stderr.toString();
  expect(out).toContain("runs=0");
  expect(out).toMatch(/ro +default/);
  expect(out).toContain("report=0");
  expect(out).toContain("run ro (");
  expect(out).toContain("run=1");
  expect(existsSync(marker)).toBe(false);
  expect(err).toContain("read-only file system");
  expect(err).toContain("recording needs a writable TRACER_STATE_DIR");
  expect(err).not.toContain("/proc/self/fd");
});

test("a FIFO named tracer.db is refused by a reader, not waited on", () => {
  const env = isolatedEnv();
  Bun.spawnSync(["mkdir", "-p", "-m", "700", env.TRACER_STATE_DIR!]);
  Bun.spawnSync(["mkfifo", "-m", "600", join(env.TRACER_STATE_DIR!, "tracer.db")]);
  const p = Bun.spawnSync([BIN, "runs"], { env, stdout: "pipe", stderr: "pipe", timeout: 20_000 });
  expect(p.signalCode ?? null).toBeNull(); // not killed by the timeout: it did not block
  expect(p.exitCode).toBe(3);
  expect(p.stderr.toString()).toContain("not a regular file");
});
