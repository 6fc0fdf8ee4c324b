/**
 * priorArgv (the first image a process exec'd itself, kept when it execs again: a job's shell that
 * became `env … tool`) is that image's own command line or unknown, never another image's. Found by an
 * attack on 2 Dec 2026: CMD's exec handled twice (once by spawned() before its event was read) made a
 * `sleep` show itself as its own prior image and, with the ownness check, lost a shell's; and a /proc
 * read made after the process had exec'd again was kept as the first image's.
 */
import { afterAll, expect, test } from "bun:test";
import { cProgram } from "../helpers/bigrun.ts";
import { probeExecWatch } from "../../src/observe/execwatch.ts";
import { BIN, cleanupTemp, isolatedEnv, run } from "../helpers/harness.ts";
import { openDb } from "./_helpers.ts";

afterAll(cleanupTemp);

/** each process's comm and priorArgv after `tracer run --quiet -- ARGV` (tracer on CPU 0 only: `cpu0`) */
async function priors(argv: string[], extraEnv: Record<string, string> = {}, cpu0 = false) {
  const env = { ...isolatedEnv(), ...extraEnv };
  const args = ["run", "--quiet", "--", ...argv];
  const r = await run(cpu0 ? ["-c", "0", BIN, ...args] : args, { env, bin: cpu0 ? "taskset" : undefined });
  expect(r.code, r.stderr).toBe(0);
  const db = openDb(env);
  const rows = db.query("SELECT comm, prior_argv AS priorArgv FROM processes ORDER BY id").all() as {
    comm: string;
    priorArgv: string | null;
  }[];
  db.close();
  return rows.map((p) => ({
    comm: p.comm,
    priorArgv: p.priorArgv === null ? null : JSON.parse(p.priorArgv),
  }));
}

test("CMD that execs twice keeps its first image as priorArgv, 10 of 10 runs (2 of 10 before)", async () => {
  // after a pause: CMD's first exec is read by the watcher's thread (the kernel's reader attaches
  // after it), and under load that read can come after the chain's next execs (CI once showed the
  // third image, before reads carried their time; now it is unknown: the last test). This test is
  // about the stand-in exec, which the pause keeps
  const script = 'sleep 0.3; exec env A=1 sh -c "exec env B=1 true"';
  for (let i = 0; i < 10; i++) {
    const rows = await priors(["sh", "-c", script]);
    expect(
      rows.find((p) => p.comm === "true"),
      JSON.stringify(rows),
    ).toEqual({
      comm: "true",
      priorArgv: ["sh", "-c", script],
    });
  }
}, 60_000);

test("CMD that never execs again has no prior image (it showed its own argv as one, 6 of 6)", async () => {
  for (let i = 0; i < 5; i++)
    expect(await priors(["sleep", "0.01"])).toEqual([{ comm: "sleep", priorArgv: null }]);
}, 60_000);

test("without the exec watcher, /proc read after the chain exec'd again is no first image", async () => {
  // the inner shell execs env, sh, env, sleep within ms; the recorder reads /proc at its drain, by then
  // showing `sleep 0.3`, which was kept as its first image
  for (let i = 0; i < 3; i++) {
    const rows = await priors(["sh", "-c", 'sh -c "exec env A=1 sh -c \\"exec env B=1 sleep 0.3\\""; true'], {
      TRACER_NO_EXEC_WATCH: "1",
    });
    const sleep = rows.find((p) => p.comm === "sleep")!;
    expect(sleep.priorArgv === null || sleep.priorArgv[0] === "sh", JSON.stringify(rows)).toBe(true);
  }
}, 60_000);

test("without the exec watcher, a chain held at each exec by its tracer (ptrace): no later image as the first", async () => {
  // PTRACE_EVENT_EXEC stops the process before its exec's event is sent, /proc showing the new image all
  // that time: a read then looked older than the event and `env A=1 true` was kept as sh's first image
  // (found by an attack, 10 of 10 at 50 ms). A read in a tracing stop is no earlier image's
  for (let i = 0; i < 3; i++) {
    const rows = await priors([cProgram("execstop"), "50", "sh", "-c", "exec env A=1 true"], {
      TRACER_NO_EXEC_WATCH: "1",
    });
    const last = rows.find((p) => p.comm === "true")!;
    expect(last.priorArgv === null || last.priorArgv[0] === "sh", JSON.stringify(rows)).toBe(true);
  }
}, 60_000);

/** a real-time policy can be set here (root, or CAP_SYS_NICE), and taskset runs */
const realtime =
  Bun.spawnSync(["taskset", "-c", "0", "chrt", "-f", "10", "true"], { stderr: "ignore" }).exitCode === 0;

test.skipIf(!probeExecWatch().available || !realtime)(
  "the watcher's thread run late: its read, made after the chain exec'd again, is no first image",
  async () => {
    // The thread (SCHED_FIFO 2) reads /proc at each exec event and stamped its record with the event's
    // time, not the read's: a process that exec'd again before the thread ran showed the later image
    // under the first exec's time, which was kept as its priorArgv (3 of 3 here before; seen in CI under
    // load). Made certain here: tracer on CPU 0 and the chain there at SCHED_FIFO 10, which the thread
    // cannot preempt till the chain's `sleep` blocks. The kernel's reader is off (it reads in the exec).
    for (let i = 0; i < 3; i++) {
      const rows = await priors(
        ["chrt", "-f", "10", "sh", "-c", "sleep 0.3; env A=1 env B=2 sleep 0.2; exit 0"],
        { TRACER_NO_KERNEL_ARGV: "1" },
        true,
      );
      const last = rows.filter((p) => p.comm === "sleep").at(-1)!;
      expect(last.priorArgv === null || last.priorArgv[0] === "env", JSON.stringify(rows)).toBe(true);
    }
  },
  60_000,
);

test.skipIf(!probeExecWatch().available || !realtime)(
  "the watcher starved while a ptracer holds each exec: no later image as the first, kernel reader on or off",
  async () => {
    // Found by an attack (2 Dec 2026): execstop holds each PTRACE_EVENT_EXEC stop 50 ms, before the
    // exec's event is sent and with /proc showing the new image; the thread, starved by the SCHED_FIFO
    // chain on its CPU, read sh's exec during env's stop (a read stamped 50 ms before env's event, so
    // it looked sh's own: 5 of 5), and the kernel's read of env's exec, stamped at sched_process_exec
    // 1 ms after sh's event, was the nearest to it (3 of 4). The thread now marks a read made in a
    // tracing stop, and a read stamped after an exec's event is never that exec's.
    const envs: Record<string, string>[] = [{ TRACER_NO_KERNEL_ARGV: "1" }, {}];
    for (const env of envs)
      for (let i = 0; i < 2; i++) {
        const rows = await priors(
          ["chrt", "-f", "10", cProgram("execstop"), "50", "sh", "-c", "exec env A=1 true"],
          env,
          true,
        );
        const last = rows.find((p) => p.comm === "true")!;
        expect(last.priorArgv === null || last.priorArgv[0] === "sh", JSON.stringify(rows)).toBe(true);
      }
  },
  60_000,
);
