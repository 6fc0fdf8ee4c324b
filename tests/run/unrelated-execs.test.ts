/**
 * Other processes' execs stop at the kernel. Once the scheduler-runtime ledger is open (root, eBPF), the
 * exec watcher's socket carries an eBPF filter that keeps only the execs of processes the ledger follows
 * (tracer's tree): an exec anywhere else on the host no longer wakes the watcher's thread. Before, each
 * one did (a poll wake-up, a receive, a read of the fork socket: ~16–25 µs of that thread's CPU per
 * unrelated exec on this 2-vCPU host, 1,000 execs/s elsewhere cost `tracer run -- sleep 8` 125–205 ms
 * more in that thread alone).
 *
 * Measured without a clock: the watcher's thread (the one at SCHED_FIFO priority 2) sleeps in poll()
 * between wake-ups, so each wake-up is one voluntary context switch in its /proc status. While 2,000
 * `/bin/true` run outside the tree, CMD reads tracer's threads before and after; then 20 processes of the
 * tree run, and every one of them must still have its argv (their lives are far shorter than a drain
 * interval: only the watcher reads them in time).
 */
import { afterAll, expect, test } from "bun:test";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { probeExecWatch } from "../../src/observe/execwatch.ts";
import { probeSchedRuntime } from "../../src/observe/schedrt.ts";
import { cProgram } from "../helpers/bigrun.ts";
import { cleanupTemp, isolatedEnv, run, tempDir } from "../helpers/harness.ts";
import { isFifo2 } from "../observe/_fifo-threads.ts";

afterAll(cleanupTemp);

const watcher = probeExecWatch();
const ledger = probeSchedRuntime();
const skip = !watcher.available || !ledger.available;
if (skip) console.warn(`skipped: ${watcher.available ? ledger.reason : watcher.reason}`);

/** the voluntary context switches of tracer's SCHED_FIFO priority-2 thread, from CMD's dump of its threads */
function watcherSwitches(dump: string): number[] {
  const out: number[] = [];
  for (const block of dump.split("--- ").slice(1)) {
    const [stat = "", ...status] = block.split("\n");
    const line = status.find((l) => l.startsWith("voluntary_ctxt_switches:"));
    if (isFifo2(stat) && line) out.push(Number(line.split(/\s+/)[1]));
  }
  return out;
}

test.skipIf(skip)(
  "execs outside the tree never wake the exec watcher once the ledger is open; the tree's argv are all read",
  async () => {
    const fan = cProgram("fan");
    const dir = tempDir();
    const ready = join(dir, "ready");
    // CMD waits on a FIFO (the shell's `read`: no exec of its own while the outside ones run)
    const done = join(dir, "done");
    expect(Bun.spawnSync(["mkfifo", done]).exitCode).toBe(0);
    // tracer's threads, each as `--- <stat line>` then its status (CMD's parent is tracer)
    const dump = (file: string) =>
      `for t in /proc/$PPID/task/*; do echo "--- $(cat $t/stat)"; cat $t/status; done > ${dir}/${file}`;
    const script = [
      "sleep 0.5", // the ledger opens within tens of ms of CMD's start
      dump("before"),
      `touch ${ready}`,
      `read go < ${done}`,
      dump("after"),
      "for i in $(seq 1 20); do /bin/true tree-exec-$i; done",
    ].join("\n");
    const env = isolatedEnv();
    const traced = run(["run", "--quiet", "--", "sh", "-c", script], { env });
    const deadline = Date.now() + 30_000;
    while (!existsSync(ready) && Date.now() < deadline) await Bun.sleep(20);
    expect(existsSync(ready)).toBe(true);
    // 2,000 fork + exec + exit outside tracer's tree, while CMD waits
    const outside = Bun.spawnSync([fan, "2000"]);
    expect(outside.exitCode).toBe(0);
    writeFileSync(done, "go\n");
    const r = await traced;
    expect(r.code).toBe(0);

    const [before] = watcherSwitches(readFileSync(join(dir, "before"), "utf8"));
    const [after] = watcherSwitches(readFileSync(join(dir, "after"), "utf8"));
    expect(before).toBeDefined();
    expect(after).toBeDefined();
    // what still wakes it: the thread's 1 s poll timeout, the dump's own `cat`s; the 2,000 did before
    // (2,887 and 3,056 wake-ups at bee834d)
    console.log(`watcher wake-ups while 2,000 execs ran outside: ${after! - before!}`);
    expect(after! - before!).toBeLessThan(200);

    const rep = await run(["report", "--json"], { env });
    const { processes } = JSON.parse(rep.stdout) as { processes: { argv: string[] | null }[] };
    const tree = processes.filter((p) => p.argv?.[1]?.startsWith("tree-exec-")).map((p) => p.argv![1]);
    expect(tree.sort()).toEqual(Array.from({ length: 20 }, (_, i) => `tree-exec-${i + 1}`).sort());
    // none of the outside processes is in the run
    expect(processes.filter((p) => p.argv?.[0] === "/bin/true" && p.argv.length === 1)).toHaveLength(0);
  },
  120_000,
);
