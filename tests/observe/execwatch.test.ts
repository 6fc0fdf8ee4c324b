/**
 * The exec watcher host-wide (daemon runs): its native name filter keeps the execs a rule can match
 * and their descendants' and judges the rest without JavaScript; what it remembers is capped. Below a
 * root (tracer run) it keeps the connector events of that tree alone, threads included.
 */
import { afterAll, expect, test } from "bun:test";
import { chmodSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ConnectorSource } from "../../src/observe/connector.ts";
import { ExecWatcher } from "../../src/observe/execwatch.ts";
import type { CaptureEvent } from "../../src/observe/types.ts";
import { cProgram } from "../helpers/bigrun.ts";
import { cleanupTemp, tempDir } from "../helpers/harness.ts";

const probe = ExecWatcher.start(0);
probe?.stop();
const why = "needs the proc connector (root) and TinyCC";
if (!probe) console.warn(`skipping exec watcher tests: ${why}`);
afterAll(cleanupTemp);

const dir = tempDir();
const tool = join(dir, "fakealign");
// a matched script: its forked child sleeps (no exec of its own name), then an exec'd child
writeFileSync(tool, "#!/bin/sh\n/bin/sleep 0.05\nexit 0\n");
chmodSync(tool, 0o755);

test.skipIf(!probe)("the name filter keeps matched execs and their children, judges the rest", async () => {
  const w = ExecWatcher.start(0, { filter: { is: ["fakealign"], contains: [] } })!;
  const c = new ConnectorSource({ pollMs: 20 });
  const events: CaptureEvent[] = [];
  c.onEvent((e) => events.push(e));
  await c.start();
  try {
    const matched = Bun.spawn([tool, "mem"], { stdio: ["ignore", "ignore", "ignore"] });
    const unrelated = Bun.spawn(["/bin/sleep", "0.01"], { stdio: ["ignore", "ignore", "ignore"] });
    // its start in clock ticks since boot, read while it sleeps (/proc/PID/stat field 22)
    const startTicks = Number(
      readFileSync(`/proc/${matched.pid}/stat`, "utf8").split(") ")[1]!.split(" ")[19],
    );
    await Promise.all([matched.exited, unrelated.exited]);
    await Bun.sleep(200);
    const execAt = (pid: number) =>
      events.find((e): e is Extract<CaptureEvent, { type: "exec" }> => e.type === "exec" && e.tgid === pid)
        ?.at;
    const child = events.find((e) => e.type === "fork" && e.ptgid === matched.pid);
    expect(child).toBeDefined();
    const read = w.lookup(matched.pid);
    expect(read?.argv).toEqual(["/bin/sh", tool, "mem"]);
    // the thread's read is stamped when made: after its exec, before this lookup (10 µs steps, up)
    expect(read!.readAt! - read!.at).toBeGreaterThan(0);
    expect(read!.readAt!).toBeLessThan(Date.now() + 0.011);
    // and its /proc/PID/stat read right after argv: the parent's pid and the start, for the daemon to
    // record a tool gone by its drain with (Recorder.adoptsRead)
    expect(read!.ppid).toBe(process.pid);
    expect(read!.startTicks).toBe(startTicks);
    expect(w.lookup(child!.type === "fork" ? child!.tgid : 0)?.argv).toEqual(["/bin/sleep", "0.05"]);
    expect(w.lookup(unrelated.pid)).toBeUndefined();
    expect(w.mayWatch(matched.pid, execAt(matched.pid)!)).toBe(true);
    // the thread handled the unrelated exec and did not watch it: no JavaScript work for it
    expect(w.mayWatch(unrelated.pid, execAt(unrelated.pid)!)).toBe(false);
    // an exec it has not handled yet (a time after everything so far) is never judged unwatched
    expect(w.mayWatch(unrelated.pid, Date.now() + 60_000)).toBe(true);
  } finally {
    await c.stop();
    w.stop();
  }
});

test.skipIf(!probe)("what the watcher remembers never exceeds its cap, whatever the exec rate", async () => {
  const cap = 50;
  // the tree below this test process: every exec of it is read, and no other exec on the host (a busy
  // host's own execs would push this test's out of the newest `cap`)
  const w = ExecWatcher.start(process.pid, { cap })!;
  try {
    let last = 0;
    for (let i = 0; i < 300; i++) {
      last = Bun.spawnSync(["/bin/true"]).pid;
      if (i % 20 === 0) w.lookup(0); // the pulls a recorder makes while execs flow
      expect(w.size).toBeLessThanOrEqual(cap);
    }
    await Bun.sleep(50);
    expect(w.lookup(last)?.argv).toEqual(["/bin/true"]); // the newest are the ones kept
    expect(w.size).toBeLessThanOrEqual(cap);
    expect(w.size).toBeGreaterThan(cap / 2);
  } finally {
    w.stop();
  }
});

test.skipIf(!probe)(
  "the text it remembers stays under its cap, but for the last second's execs",
  async () => {
    const charsCap = 100_000;
    const w = ExecWatcher.start(process.pid, { charsCap })!;
    try {
      // 40 command lines of 10,000 characters: 400,000 in all, four times the cap, within a second
      const pids: number[] = [];
      for (let i = 0; i < 40; i++) {
        pids.push(Bun.spawnSync(["/bin/true", String(i % 10).repeat(10_000)]).pid);
        if (i % 10 === 0) w.lookup(0); // the pulls a recorder makes while execs flow
      }
      // none younger than a second is dropped for the cap: every one still answers
      for (const [i, pid] of pids.entries())
        expect(w.lookup(pid)?.argv[1]).toBe(String(i % 10).repeat(10_000));
      expect(w.chars).toBeGreaterThan(charsCap);
      await Bun.sleep(1100);
      const last = Bun.spawnSync(["/bin/true", "last"]).pid;
      expect(w.lookup(last)?.argv).toEqual(["/bin/true", "last"]);
      // older than a second: the oldest went until the cap held
      expect(w.chars).toBeLessThanOrEqual(charsCap);
      expect(w.lookup(pids[0]!)).toBeUndefined();
    } finally {
      w.stop();
    }
  },
);

test.skipIf(!probe)(
  "a ring bigger than take()'s buffer is handed over in parts, every record, in order",
  async () => {
    // 8 MiB of ring: 120 shells with ~40 KB of argv each (~4.8 MB) read before any take. Each lives
    // 0.3 s (its `sleep` forked, not exec'd in its place), so the thread reads every one even on a
    // loaded host: a /bin/true can be gone before its command line is read (argv lost, counted)
    const w = ExecWatcher.start(process.pid, { ringBytes: 8 << 20 })!;
    try {
      const procs: { pid: number; exited: Promise<number> }[] = [];
      for (let i = 0; i < 120; i++)
        procs.push(Bun.spawn(["sh", "-c", "sleep 0.3; :", `${i}:${"x".repeat(40_000)}`]));
      await Promise.all(procs.map((p) => p.exited));
      // one lookup pulls the whole ring (three parts); every shell answers with its own argv
      for (let i = 0; i < procs.length; i++) {
        const argv = w.lookup(procs[i]!.pid)?.argv;
        expect(argv?.slice(0, 3)).toEqual(["sh", "-c", "sleep 0.3; :"]);
        expect(argv?.[3]?.startsWith(`${i}:`)).toBe(true);
        expect(argv?.[3]?.length).toBe(`${i}:`.length + 40_000);
      }
    } finally {
      w.stop();
    }
  },
);

test.skipIf(!probe)(
  "compact() drops unrelated connector events but no sequence number: no false loss",
  async () => {
    const w = ExecWatcher.start(0, { filter: { is: ["fakealign"], contains: [] } })!;
    const full = new ConnectorSource({ pollMs: 20 });
    const filtered = new ConnectorSource({ pollMs: 20, filter: (b) => w.compact(b) });
    const all: CaptureEvent[] = [];
    const kept: CaptureEvent[] = [];
    full.onEvent((e) => all.push(e));
    filtered.onEvent((e) => kept.push(e));
    await full.start();
    await filtered.start();
    try {
      const unrelated: number[] = [];
      for (let i = 0; i < 200; i++) unrelated.push(Bun.spawnSync(["/bin/true"]).pid);
      const matched = Bun.spawn([tool, "mem"], { stdio: ["ignore", "ignore", "ignore"] });
      await matched.exited;
      for (let i = 0; i < 200; i++) unrelated.push(Bun.spawnSync(["/bin/true"]).pid);
      await Bun.sleep(200);
    } finally {
      await filtered.stop();
      await full.stop();
      w.stop();
    }
    const mine = (list: CaptureEvent[], pids: Set<number>) =>
      list.filter((e) => e.type !== "loss" && pids.has(e.tgid)).length;
    const u = new Set(
      all.filter((e) => e.type === "exec" && e.tgid !== undefined).map((e) => (e as { tgid: number }).tgid),
    );
    expect(all.length).toBeGreaterThan(kept.length + 400);
    expect(full.stats().lost).toBe(0);
    expect(filtered.stats().lost).toBe(0); // every dropped message's sequence number was still seen
    expect(kept.some((e) => e.type === "loss")).toBe(false);
    // the matched script: its fork, exec and exit, and its child's, all kept
    const tree = new Set<number>();
    for (const e of all)
      if (e.type === "exec" && kept.some((k) => k.type === "exec" && k.tgid === e.tgid)) tree.add(e.tgid);
    expect(tree.size).toBeGreaterThanOrEqual(2);
    for (const pid of tree) expect(mine(kept, new Set([pid]))).toBe(mine(all, new Set([pid])));
    void u;
  },
);

test.skipIf(!probe)(
  "below a root (tracer run), compact() keeps every event of the tree, threads too, and only those: no false loss",
  async () => {
    const threads = cProgram("threads");
    // the tree: a shell that waits for a line, then forks a subshell, execs two programs, one with threads
    const root = Bun.spawn(["/bin/sh", "-c", `read x; (exit 3); /bin/true; ${threads} conc 3 5; exit 0`], {
      stdin: "pipe",
      stdout: "ignore",
      stderr: "ignore",
    });
    // the root's own exec (Bun forks, then the child execs /bin/sh) done before either source listens:
    // on a slow host it came between the two starts, and only the first source saw it (a CI run, 30 Nov)
    for (let i = 0; i < 500 && readFileSync(`/proc/${root.pid}/comm`, "utf8").trim() !== "sh"; i++)
      await Bun.sleep(10);
    const w = ExecWatcher.start(root.pid)!;
    const full = new ConnectorSource({ pollMs: 20, threads: true });
    const filtered = new ConnectorSource({ pollMs: 20, threads: true, filter: (b) => w.compact(b) });
    const all: CaptureEvent[] = [];
    const kept: CaptureEvent[] = [];
    full.onEvent((e) => all.push(e));
    filtered.onEvent((e) => kept.push(e));
    await full.start();
    await filtered.start();
    const unrelated = new Set<number>();
    try {
      for (let i = 0; i < 100; i++) unrelated.add(Bun.spawnSync(["/bin/true"]).pid);
      root.stdin.write("go\n");
      await root.stdin.end();
      expect(await root.exited).toBe(0);
      for (let i = 0; i < 100; i++) unrelated.add(Bun.spawnSync(["/bin/true"]).pid);
      await Bun.sleep(200);
    } finally {
      await filtered.stop();
      await full.stop();
      w.stop();
    }
    // the tree as the unfiltered stream shows it: the root and whatever was forked from it
    const tree = new Set([root.pid]);
    for (const e of all) if (e.type === "fork" && tree.has(e.ptgid)) tree.add(e.tgid);
    const inTree = (e: CaptureEvent) =>
      e.type !== "loss" && (tree.has(e.tgid) || (e.type === "fork" && tree.has(e.ptgid)));
    const show = (e: CaptureEvent) => (e.type === "loss" ? "loss" : `${e.type} ${e.pid}/${e.tgid}`);
    const expected = all.filter(inTree).map(show);
    // the subshell, /bin/true, threads (3 threads: their forks and exits) and the root's exit
    expect(expected.filter((s) => s.startsWith("fork")).length).toBeGreaterThanOrEqual(6);
    expect(kept.map(show)).toEqual(expected);
    expect(kept.some((e) => e.type !== "loss" && unrelated.has(e.tgid))).toBe(false);
    expect(all.filter((e) => e.type !== "loss" && unrelated.has(e.tgid)).length).toBeGreaterThanOrEqual(600);
    expect(full.stats().lost).toBe(0);
    expect(filtered.stats().lost).toBe(0); // every dropped message's sequence number was still seen
  },
);

test.skipIf(!probe || process.getuid?.() !== 0)(
  "a pid taken again at once: both execs remembered, each found at its own time (ns_last_pid, root)",
  async () => {
    // Found 1 Dec 2026 by an attack: one exec was kept per pid, so the recorder, asking for the exec of
    // a process whose pid a later process had taken (clone3 set_tid), got the later one's argv.
    const py = Bun.spawn(
      [
        "python3",
        "-S",
        "-c",
        `import os, sys
sys.stdin.readline()
p = os.fork()
if p == 0:
    os.execv("/bin/true", ["/bin/true", "innocent"])
os.waitpid(p, 0)
with open("/proc/sys/kernel/ns_last_pid", "w") as f:
    f.write(str(p - 1))
q = os.fork()
if q == 0:
    os.execv("/bin/true", ["/bin/true", "evil"])
os.waitpid(q, 0)
print(p, q, flush=True)`,
      ],
      { stdin: "pipe", stdout: "pipe" },
    );
    const w = ExecWatcher.start(py.pid)!;
    const c = new ConnectorSource({ pollMs: 20 });
    const events: CaptureEvent[] = [];
    c.onEvent((e) => events.push(e));
    await c.start();
    try {
      py.stdin.write("go\n");
      py.stdin.end();
      const [p, q] = (await new Response(py.stdout).text()).trim().split(" ").map(Number);
      await Bun.sleep(200);
      if (p !== q) return console.warn("another process took the pid first: nothing to check");
      const execs = events.filter((e) => e.type === "exec" && e.tgid === p).map((e) => e.at);
      expect(execs).toHaveLength(2);
      expect(w.lookup(p!, execs[0], 3)?.argv).toEqual(["/bin/true", "innocent"]);
      expect(w.lookup(p!, execs[1], 3)?.argv).toEqual(["/bin/true", "evil"]);
      expect(w.lookup(p!)?.argv).toEqual(["/bin/true", "evil"]); // without a time: the latest
    } finally {
      c.stop();
      w.stop();
    }
  },
);
