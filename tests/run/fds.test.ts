/**
 * CMD inherits from `tracer run` only the descriptors tracer was given (here 0, 1, 2): every file tracer
 * opens itself — the state directory and store, /dev/kmsg, its own executable, the native helpers'
 * memory file, netlink sockets, pipes — is close-on-exec. ffi/fs.ts's openSync adds O_CLOEXEC as node:fs
 * does; a caller that omits it (src/observe/kmsg.ts) relies on that. Two layers keep them out: the
 * close-on-exec flags and ffi/init.c's close_range(3, ~0, CLOSE_RANGE_CLOEXEC) before CMD's exec; this
 * fails when both are lost (measured: without either, /dev/kmsg reached CMD as fd 9), not one alone.
 */
import { afterAll, expect, test } from "bun:test";
import { cleanupTemp, isolatedEnv, run } from "../helpers/harness.ts";

afterAll(cleanupTemp);

test.skipIf(process.platform !== "linux")(
  "CMD's open descriptors are only the ones tracer was given",
  async () => {
    const env = isolatedEnv();
    // sh lists its own descriptors (ls is given the shell's pid: its own directory fd is not listed)
    const r = await run(["run", "--quiet", "--", "sh", "-c", "ls /proc/$$/fd"], {
      env,
    });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split("\n").sort()).toEqual(["0", "1", "2"]);
  },
);
