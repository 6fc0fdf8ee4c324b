/**
 * CMD gets the open-file limit tracer was started with, as under tini: Bun (tracer's runtime) raises its
 * own soft RLIMIT_NOFILE to the hard limit before tracer's code runs, and CMD inherited that (found by a
 * newcomer: `ulimit -Sn 512` gave CMD 20000 under tracer, 512 under tini). The peer is tini in the same
 * shell; the other limits were passed through already.
 */
import { expect, test } from "bun:test";
import { BIN, isolatedEnv } from "../helpers/harness.ts";

/** `ulimit -Sn 512` in a shell, then INIT -- sh -c 'ulimit -Sn; ulimit -Hn' (`; :` keeps the shell as INIT's parent) */
const under = (init: string) => {
  const p = Bun.spawnSync(["sh", "-c", `ulimit -Sn 512; ${init} -- sh -c 'ulimit -Sn; ulimit -Hn'; :`], {
    env: isolatedEnv(),
    stdout: "pipe",
    stderr: "pipe",
  });
  return p.stdout.toString().trim().split("\n");
};

test("a lowered soft RLIMIT_NOFILE reaches CMD as under tini; the hard limit is untouched", () => {
  const tini = under("tini -s");
  const tracer = under(`${BIN} run --quiet`);
  expect(tini[0]).toBe("512");
  expect(tracer).toEqual(tini);
});
