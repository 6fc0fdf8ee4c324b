/**
 * A run whose store fills up before its end is written: CMD's exit status is still tracer's, and the
 * closing line says the run was not recorded (or not finished) instead of pointing at a report that does
 * not exist (found by a newcomer: "(tracer report 01a2317e-7d27)", then "no run"). A 600 KiB tmpfs in a
 * private mount namespace is the state directory; CMD fills it, at once or after the run's row is written.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync } from "node:fs";
import { BIN, cleanupTemp, tempDir } from "../helpers/harness.ts";

afterAll(cleanupTemp);

/** `tracer run -- sh -c SCRIPT` with its state on a small tmpfs that SCRIPT fills; then `tracer runs` there */
function onFullDisk(script: string, fullBefore = false) {
  const mnt = `${tempDir()}/mnt`;
  mkdirSync(mnt);
  // fullBefore: the store made by a first run, then the disk filled before the run under test starts
  // (opening an existing store writes nothing; its first write is the run's row, which fails)
  const before = fullBefore
    ? `TRACER_STATE_DIR="$1/st" "$2" run --quiet --name first -- true || exit 98
dd if=/dev/zero of="$1/fill" bs=4k 2>/dev/null
`
    : "";
  const inner = `mount -t tmpfs -o size=600k tracer-test "$1" || exit 99
${before}TRACER_STATE_DIR="$1/st" "$2" run -- sh -c "$3"; echo "exit=$?"
TRACER_STATE_DIR="$1/st" "$2" runs 2>&1`;
  const p = Bun.spawnSync(
    [
      "unshare",
      "-m",
      "--propagation",
      "private",
      "sh",
      "-c",
      inner,
      "sh",
      mnt,
      BIN,
      script.replaceAll("MNT", mnt),
    ],
    { stdout: "pipe", stderr: "pipe", env: { PATH: process.env.PATH ?? "/usr/bin:/bin" } },
  );
  return { out: p.stdout.toString(), err: p.stderr.toString() };
}

const FILL = "dd if=/dev/zero of=MNT/fill bs=4k 2>/dev/null; exit 6";

describe("the store fills up during a run", () => {
  test("full before the run's row could be written: exit 6 all the same, 'NOT RECORDED', only the earlier run listed", () => {
    const r = onFullDisk("exit 6", true);
    expect(r.out).toContain("exit=6");
    expect(r.err).toContain("(NOT RECORDED: the store could not be written)");
    expect(r.err).not.toMatch(/\(tracer report [0-9a-f-]+\)/);
    const listed = r.out.split("\n").filter((l) => /^[0-9a-f]{8}-[0-9a-f]{4} /.test(l));
    expect(listed.length).toBe(1);
    expect(listed[0]).toContain("first");
  });

  test("after the run's row was written (CMD outlives the run's begin): 'NOT FINISHED', the report named exists", () => {
    const r = onFullDisk(`sleep 0.2; ${FILL}`);
    expect(r.out).toContain("exit=6");
    const m =
      /NOT FINISHED: the store could not be written; tracer report ([0-9a-f-]+) shows it up to then/.exec(
        r.err,
      );
    expect(m).not.toBeNull();
    expect(r.out).toContain(m![1]!);
  });
});
