import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import pkg from "../package.json" with { type: "json" };
import { BIN, cleanupTemp, isolatedEnv, run, tempDir } from "./helpers/harness.ts";

afterAll(cleanupTemp);
const env = isolatedEnv();
const COMMANDS = ["init", "info", "start", "stop", "terminate", "logs", "doctor"];

describe("tracer CLI (compiled binary)", () => {
  test("--version prints the version baked in at build time", async () => {
    for (const flag of ["--version", "-v"]) {
      const r = await run([flag], { env });
      expect(r.code).toBe(0);
      expect(r.stdout.trim()).toBe(pkg.version);
    }
  });

  test("--help lists every command; each command has its own --help", async () => {
    const top = await run(["--help"], { env });
    expect(top.code).toBe(0);
    for (const c of COMMANDS) expect(top.stdout).toContain(c);
    expect(top.stdout).not.toContain("__daemon");
    for (const c of COMMANDS) {
      const r = await run([c, "--help"], { env });
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(`tracer ${c}`);
      expect(r.stdout).not.toContain("\x1b["); // NO_COLOR honoured
    }
  });

  test("-h or --help before the command's name prints that command's help, as after it", async () => {
    // it printed the root's (the command was resolved only up to the first option)
    for (const args of [
      ["-h", "run"],
      ["--help", "net", "check"],
      ["-h", "runs", "rm"],
      ["report", "--format", "json", "-h"],
    ]) {
      const before = await run(args, { env });
      const words = args.filter((a) => !a.startsWith("-") && a !== "json");
      const after = await run([...words, "--help"], { env });
      expect(before.code).toBe(0);
      expect(before.stdout).toBe(after.stdout);
      expect(before.stdout).toContain(`tracer ${words.join(" ")}`);
    }
  });

  test("--help into a pipe has no colour codes even without NO_COLOR", async () => {
    const { NO_COLOR: _, ...coloured } = env;
    const r = await run(["report", "--help"], { env: { ...coloured, TERM: "xterm-256color" } });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("tracer report");
    expect(r.stdout).not.toContain("\x1b[");
  });

  // A 1.2 MB daemon log: more than a pipe holds, so the writer must wait for (or lose) its reader.
  const bigLog = () => {
    const e = isolatedEnv();
    mkdirSync(e.TRACER_STATE_DIR!, { recursive: true, mode: 0o700 });
    const lines = Array.from({ length: 20000 }, (_, i) => `line ${i} ${"x".repeat(50)}`);
    writeFileSync(join(e.TRACER_STATE_DIR!, "daemon.log"), `${lines.join("\n")}\n`);
    return { e, bytes: lines.join("\n").length + 1 };
  };

  test("a reader that leaves early (| head) ends the command quietly with exit 0", async () => {
    const { e } = bigLog();
    const p = Bun.spawn(["bash", "-c", '{ "$0" logs -n 20000; echo "rc=$?" >&2; } | head -c 100', BIN], {
      env: e,
      stdout: "pipe",
      stderr: "pipe",
    });
    const [out, err] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text()]);
    expect(await p.exited).toBe(0);
    expect(out).toBe("line 0 ".concat("x".repeat(50), "\nline 1 ", "x".repeat(35)));
    expect(err).toBe("rc=0\n");
  });

  // `{ sleep 0.3; tracer …; } | true`: the reader has gone before tracer writes, every time
  const closedPipe = async (cmd: string, e: Record<string, string>) => {
    const p = Bun.spawn(["bash", "-c", `{ sleep 0.3; ${cmd}; } | true; echo "\${PIPESTATUS[0]}"`], {
      env: { ...e, T: BIN },
      stdout: "pipe",
      stderr: "pipe",
    });
    const out = await new Response(p.stdout).text();
    await p.exited;
    return Number(out.trim());
  };

  test("a reader that leaves before an error is read does not turn its exit status into 0", async () => {
    const e = isolatedEnv();
    expect(await closedPipe('"$T" report nosuch 2>&1', e)).toBe(1);
    expect(await closedPipe('"$T" report --json nosuch', e)).toBe(1);
    expect(await closedPipe('"$T" run --bogus -- true 2>&1', e)).toBe(2);
  });

  test("a gate's verdict and CMD's status survive a reader that left (diff | head, run 2>&1 | head)", async () => {
    const e = isolatedEnv();
    // the run's summary goes to stderr, whose reader is gone: CMD's status, and the run recorded
    expect(await closedPipe('"$T" run --name ok -- sh -c "exit 0" 2>&1', e)).toBe(0);
    expect(await closedPipe('"$T" run --name bad -- sh -c "sleep 0.5; exit 3" 2>&1', e)).toBe(3);
    const runs = await run(["runs", "--json"], { env: e });
    expect(
      (JSON.parse(runs.stdout) as { name: string; exitCode: number }[])
        .map((r) => [r.name, r.exitCode])
        .sort(),
    ).toEqual([
      ["bad", 3],
      ["ok", 0],
    ]);
    // the run newly failed: a regression (exit 7), whether the table or the notes could be read or not
    expect((await run(["diff", "ok", "bad", "--fail-on-regression", "50"], { env: e })).code).toBe(7);
    expect(await closedPipe('"$T" diff ok bad --fail-on-regression 50 2>/dev/null', e)).toBe(7);
    expect(await closedPipe('"$T" diff ok bad --fail-on-regression 50 2>&1', e)).toBe(7);
    expect(await closedPipe('"$T" diff ok bad --json --fail-on-regression 50', e)).toBe(7);
  });

  test("a non-blocking stdout pipe drained slowly still gets every byte", async () => {
    const { e, bytes } = bigLog();
    const py = `
import fcntl, os, subprocess, sys, time
r, w = os.pipe()
fcntl.fcntl(w, fcntl.F_SETFL, fcntl.fcntl(w, fcntl.F_GETFL) | os.O_NONBLOCK)
p = subprocess.Popen([sys.argv[1], "logs", "-n", "20000"], stdout=w)
os.close(w)
n = 0
while True:
    time.sleep(0.002)
    chunk = os.read(r, 16384)
    if not chunk: break
    n += len(chunk)
print(n, p.wait())
`;
    const p = Bun.spawnSync(["python3", "-c", py, BIN], { env: e, stderr: "pipe" });
    expect(p.stderr.toString()).toBe("");
    expect(p.stdout.toString().trim()).toBe(`${bytes} 0`);
  });

  test("usage errors exit 2 with one clear line", async () => {
    const cases: [string[], string][] = [
      [["frob"], 'unknown command "frob"'],
      [["init", "--forse"], 'unknown option "--forse"'],
      [["info", "extra"], 'unexpected argument "extra"'],
      [["logs", "-n", "many"], '-n must be a whole number ≥ 0, got "many"'],
      [["init", "--spawn", "magic"], 'unknown spawn strategy "magic"'],
      [["init", "--run"], 'option "--run" needs a value'],
    ];
    for (const [args, msg] of cases) {
      const r = await run(args, { env });
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(msg);
      expect(r.stdout).toBe("");
    }
    const bare = await run([], { env });
    expect(bare.code).toBe(2);
    expect(bare.stderr).toContain("USAGE");
  });

  test("a command to run given without `--`: the hint shows where it goes; nothing runs", async () => {
    const dir = tempDir();
    for (const [args, usage] of [
      [["run", "touch", join(dir, "ran")], "tracer run [OPTIONS]"],
      [["rules", "test", "touch", join(dir, "ran")], "tracer rules test [--rules FILE]"],
    ] as const) {
      const r = await run([...args], { env });
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('unexpected argument "touch"');
      expect(r.stderr).toContain(
        `hint: the command to run goes after "--": ${usage} -- touch ${join(dir, "ran")}`,
      );
    }
    expect(existsSync(join(dir, "ran"))).toBe(false);
    // other commands' stray arguments get no such hint
    expect((await run(["info", "extra"], { env })).stderr).not.toContain('after "--"');
    // and --help's USAGE line shows where CMD goes; no help line ends in spaces
    const help = await run(["run", "--help"], { env });
    expect(help.stdout).toContain("USAGE tracer run [OPTIONS] -- CMD ARGS...\n");
    expect(help.stdout.split("\n").filter((l) => l !== l.trimEnd())).toEqual([]);
    expect((await run(["report", "--help"], { env })).stdout).not.toContain("-- CMD");
  });

  test("doctor --json reports platform, the spawn strategy and why, dirs, kernel features", async () => {
    const r = await run(["doctor", "--json"], { env });
    const d = JSON.parse(r.stdout);
    expect(d.platform).toBe(process.platform);
    expect(d.compiled).toBe(true);
    expect(d.spawn.strategy).toBe("fd");
    expect(d.spawn.reasons.join(" ")).toContain("execveat");
    expect(d.dirs.state.path).toBe(env.TRACER_STATE_DIR);
    const names = d.features.map((f: { name: string }) => f.name);
    for (const f of [
      "proc connector",
      "taskstats",
      "exec watcher",
      "sched runtime",
      "OOM-kill sources",
      "child subreaper",
    ])
      expect(names).toContain(f);
    // CI runs as root on the host: both netlink sources must be usable there
    expect(d.capture).toBe("connector+taskstats");
    expect(d.features.find((f: { name: string }) => f.name === "exec watcher").available).toBe(true);
    // root on a kernel with BTF: the eBPF ledger of each process's CPU loads and passes its self-check
    const ledger = d.features.find((f: { name: string }) => f.name === "sched runtime");
    expect(ledger).toMatchObject({ available: true });
    // its four eBPF programs (ffi/schedrt.c), the optional fourth among them
    for (const program of [
      "sched_stat_runtime",
      "sched_process_fork",
      "sched_process_exec",
      "sched_process_exit",
    ])
      expect(ledger.detail).toContain(program);
    // OOM kills: as root the kernel log is readable; on a cgroup v1 host (this one) the v1 memory
    // controller's counters work too, and no "cgroup v2" is asked for
    const oom = d.features.find((f: { name: string }) => f.name === "OOM-kill sources");
    expect(oom).toMatchObject({ available: true });
    expect(oom.detail).toContain("kernel log (/dev/kmsg)");
    if (existsSync("/sys/fs/cgroup/memory/memory.oom_control")) expect(oom.detail).toContain("cgroup v1");
    expect(names).not.toContain("cgroup v2");
    // and the in-kernel reader of argv and cwd at exec (ffi/execargv.c) attaches to it
    expect(d.features.find((f: { name: string }) => f.name === "exec reader")).toMatchObject({
      available: true,
    });
    expect(r.code).toBe(0);
    const human = await run(["doctor"], { env });
    expect(human.stdout).toContain("spawn    fd");
  });

  test("logs without a log file explains that the daemon never ran", async () => {
    const r = await run(["logs"], { env: isolatedEnv() });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("the daemon has not run yet");
  });
});
