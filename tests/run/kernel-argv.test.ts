/**
 * argv and cwd read in the kernel (ffi/execargv.c). Once the scheduler-runtime ledger follows the tree,
 * an eBPF program on sched_process_exec copies each exec's command line and working directory into a
 * ring buffer, and the exec watcher's thread (which read /proc at every exec) is no longer woken.
 *
 * The oracle is each process itself: tests/fixtures/selfargv.c writes its own /proc/self/cmdline and
 * getcwd() to a file named by its pid, then exits at once (long before a drain of the capture sources:
 * only a reader at exec time has its argv). Every such process of the run must have exactly those
 * bytes as argv and cwd in `tracer report --json`, across mount points (procfs, sysfs, tmpfs, a bind
 * mount), a removed directory (readlink's " (deleted)"), a chroot (tracer's view, as readlink by
 * tracer and the watcher's thread show it), deep and long paths (one too deep for the program, read
 * by the watcher's thread instead), bytes that are not UTF-8, empty
 * arguments, and an argv over 64 KiB (kept up to 64 KiB, its full size known). That the kernel read them is shown by the watcher's thread
 * (SCHED_FIFO priority 2): each wake-up is one voluntary context switch in its /proc status; while
 * the kernel reads, 200 execs of the tree wake it fewer than 50 times (measured 4–25; the thread's own
 * read: 204–205, TRACER_NO_KERNEL_ARGV=1).
 */
import { afterAll, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { decodeLossless } from "../../src/core/lossless.ts";
import { probeExecWatch } from "../../src/observe/execwatch.ts";
import { probeSchedRuntime } from "../../src/observe/schedrt.ts";
import { cProgram } from "../helpers/bigrun.ts";
import { BIN, cleanupTemp, ensureBuilt, isolatedEnv, run, tempDir } from "../helpers/harness.ts";
import { isFifo2 } from "../observe/_fifo-threads.ts";

afterAll(cleanupTemp);

const watcher = probeExecWatch();
const ledger = probeSchedRuntime();
const skip = !watcher.available || !ledger.available;
if (skip) console.warn(`skipped: ${watcher.available ? ledger.reason : watcher.reason}`);

/** voluntary context switches of a process's SCHED_FIFO priority-2 thread (the exec watcher's) */
function watcherSwitches(pid: number): number | undefined {
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      if (!isFifo2(readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8"))) continue;
      const line = readFileSync(`/proc/${pid}/task/${tid}/status`, "utf8")
        .split("\n")
        .find((l) => l.startsWith("voluntary_ctxt_switches:"));
      return line ? Number(line.split(/\s+/)[1]) : undefined;
    } catch {} // a thread that ended meanwhile
  }
  return undefined;
}

/** bytes → text as tracer stores it (not UTF-8: U+DC80–U+DCFF) */
const text = (b: Uint8Array) => decodeLossless(b);

/** what tests/fixtures/selfargv.c wrote of itself: its /proc/self/cmdline (its bytes, and as argv) and getcwd() */
function selfView(file: string): { cmdline: Uint8Array; argv: string[]; cwd: string } {
  const raw = readFileSync(file);
  const cut = raw.indexOf("\n--cwd--\n");
  const cmdline = raw.subarray(0, cut);
  const argv: string[] = [];
  for (let at = 0; at < cmdline.length; ) {
    const end = cmdline.indexOf(0, at);
    argv.push(text(cmdline.subarray(at, end)));
    at = end + 1;
  }
  return { cmdline, argv, cwd: text(raw.subarray(cut + "\n--cwd--\n".length)) };
}

/** the oracle program, a fresh temp dir and the oracle's dir in it (ORACLE_DIR: one file per process) */
async function oracleSetup(): Promise<{ selfargv: string; dir: string; oracle: string }> {
  await ensureBuilt();
  const dir = tempDir();
  const oracle = join(dir, "oracle");
  mkdirSync(oracle);
  return { selfargv: cProgram("selfargv"), dir, oracle };
}

/** a directory `levels` deep under `dir`, each level named `name`, made */
function nestedDir(dir: string, levels: number, name: string): string {
  const path = join(dir, ...Array.from({ length: levels }, () => name));
  mkdirSync(path, { recursive: true });
  return path;
}

test.skipIf(skip)(
  "argv and cwd of short processes read in the exec itself equal each process's own view; the watcher's thread sleeps",
  async () => {
    const { selfargv, dir, oracle } = await oracleSetup();
    // directories the workload runs in: deep, long, not UTF-8, and a bind mount of one of them
    const deep = nestedDir(dir, 60, "d");
    const long = join(dir, ...Array.from({ length: 14 }, (_, i) => `${"L".repeat(200)}${i}`));
    mkdirSync(long, { recursive: true });
    // a name of bytes that are not UTF-8 and an escape sequence (printf makes the bytes)
    const odd = `"$(printf '${dir}/\\377\\376\\033[2J')"`;
    expect(Bun.spawnSync(["sh", "-c", `mkdir ${odd}`]).exitCode).toBe(0);
    const src = join(dir, "src", "sub");
    const bound = join(dir, "bound");
    mkdirSync(src, { recursive: true });
    mkdirSync(bound);
    const bindOk = Bun.spawnSync(["mount", "--bind", join(dir, "src"), bound]).exitCode === 0;
    if (!bindOk) console.warn("no bind mount here: that case is left out");
    // A chroot: tracer shows where it is in tracer's own view (readlink on /proc/PID/cwd, what the
    // exec watcher's thread records), not "/". Its root is a recursive bind mount of / in a mount
    // namespace of its own (gone with its last process): the same files, another root.
    // deeper than the 4 steps of one program run (its walk goes on by tail calls, 25 of them), yet 200 bytes
    const deeper = nestedDir(dir, 100, "e");
    // deeper than the 136 steps of 34 runs, yet ~3 KB: left to the watcher's thread (readlink), exact;
    // the program once called it unknown and the process got its parent's cwd
    const deepest = nestedDir(dir, 1500, "f");
    const jail = join(dir, "jail");
    mkdirSync(jail);
    const chrootOk =
      Bun.spawnSync(["unshare", "-m", "--propagation", "private", "sh", "-c", `mount --rbind / ${jail}`])
        .exitCode === 0;
    if (!chrootOk) console.warn("no mount namespace here: the chroot case is left out");

    const ctl = join(dir, "ctl");
    const script = `
set -u
S=${selfargv}
n=0
while :; do
  while [ ! -e ${ctl}.$n ]; do sleep 0.01; done
  cmd=$(cat ${ctl}.$n)
  case $cmd in
    batch) for i in $(seq 1 200); do /bin/true warm-$i; done ;;
    work)
      (cd /proc/$$ && exec $S proc)
      (cd /sys/kernel && exec $S sys a b)
      (cd /dev/shm && exec $S tmpfs)
      (cd ${deep} && exec $S deep)
      (cd ${long} && exec $S long)
      (cd ${odd} && exec $S "$(printf 'not\\377utf8')" "$(printf 'esc\\033]0;x\\007')" "" "")
      ${bindOk ? `(cd ${bound}/sub && exec $S bound)` : ":"}
      (cd / && exec $S root "line
break")
      (cd ${deeper} && exec $S deeper)
      (cd ${deepest} && exec $S deepest)
      (mkdir ${dir}/gone && cd ${dir}/gone && rmdir ${dir}/gone && exec $S deleted)
      ${chrootOk ? `unshare -m --propagation private sh -c "mount --rbind / ${jail} && exec chroot ${jail} $S chroot"` : ":"}
      $S big "$(head -c 70000 /dev/zero | tr '\\0' x)"
      ;;
    end) exit 0 ;;
  esac
  touch ${ctl}.$n.done
  n=$((n + 1))
done`;
    const env = { ...isolatedEnv(), ORACLE_DIR: oracle };
    const traced = Bun.spawn([BIN, "run", "--quiet", "--", "sh", "-c", script], {
      env,
      stdio: ["ignore", "ignore", "pipe"],
    });
    let step = 0;
    const send = async (cmd: string) => {
      writeFileSync(`${ctl}.${step}`, cmd);
      const done = `${ctl}.${step}.done`;
      step++;
      if (cmd === "end") return;
      const until = Date.now() + 60_000;
      while (!existsSync(done) && Date.now() < until) await Bun.sleep(10);
      expect(existsSync(done)).toBe(true);
    };
    try {
      // the watcher's thread runs (it is started before CMD; its priority is set as it starts)
      for (
        const until = Date.now() + 20_000;
        watcherSwitches(traced.pid) === undefined && Date.now() < until;
      )
        await Bun.sleep(10);
      // batches of 200 tree execs until they stop waking the thread: the kernel reads them now
      let woken = Number.POSITIVE_INFINITY;
      for (let i = 0; i < 30 && woken >= 50; i++) {
        const before = watcherSwitches(traced.pid);
        await send("batch");
        const after = watcherSwitches(traced.pid);
        expect(before).toBeDefined();
        woken = after! - before!;
      }
      console.log(`watcher wake-ups during 200 tree execs, kernel reading: ${woken}`);
      expect(woken).toBeLessThan(50);
      const before = watcherSwitches(traced.pid)!;
      await send("work");
      const after = watcherSwitches(traced.pid)!;
      console.log(`… during the workload (its execs and their shells): ${after - before}`);
      expect(after - before).toBeLessThan(50);
      await send("end");
      expect(await traced.exited).toBe(0);
    } finally {
      traced.kill();
      if (bindOk) Bun.spawnSync(["umount", bound]);
    }

    const rep = await run(["report", "--json"], { env });
    expect(rep.code, rep.stderr).toBe(0);
    const { processes } = JSON.parse(rep.stdout) as {
      processes: {
        pid: number;
        argv: string[] | null;
        cwd: string | null;
        argvBytes: number;
        argvTruncated: boolean;
      }[];
    };
    const seen = readdirSync(oracle);
    expect(seen.length).toBe(11 + (bindOk ? 1 : 0) + (chrootOk ? 1 : 0));
    for (const name of seen) {
      const { cmdline, argv, cwd: own } = selfView(join(oracle, name));
      let cwd = own;
      if (argv[1] === "deleted") expect(cwd).toBe(`${dir}/gone (deleted)`);
      if (argv[1] === "chroot") {
        expect(cwd).toBe("/"); // its own view
        cwd = jail;
      }
      const p = processes.find((q) => q.pid === Number(name) && q.argv?.[0] === selfargv);
      expect(p, `pid ${name} (${argv[1]}) not recorded with its argv`).toBeDefined();
      expect(p!.cwd).toBe(cwd);
      if (argv[1] === "big") {
        // kept to 64 KiB, its full size known
        expect(p!.argvBytes).toBe(cmdline.length);
        expect(p!.argvTruncated).toBe(true);
        expect(Buffer.byteLength(p!.argv!.join("\0"))).toBeLessThanOrEqual(65_536);
        expect(argv.join("\0").startsWith(p!.argv!.join("\0"))).toBe(true);
      } else {
        expect(p!.argv).toEqual(argv);
        expect(p!.argvBytes).toBe(cmdline.length);
        expect(p!.argvTruncated).toBe(false);
      }
    }
  },
  240_000,
);

test.skipIf(skip)(
  "a burst of 40 KB command lines right after a quiet second: every one kept (what the ring cannot hold goes to the thread)",
  async () => {
    // 120 × 40 KB is ~4.8 MB, more than the program's 1 MiB ring, all before the next drain (paced: up
    // to 500 ms apart once the host is quiet). Each /bin/true ends at once: a record the ring drops is
    // lost unless the thread reads that exec (the recorder's /proc read comes too late). A ring that
    // only dropped them kept 58 of 120 (argv lost 62; found by a review, 30 Nov).
    const env = isolatedEnv();
    const script =
      'A=$(head -c 40000 /dev/zero | tr "\\0" a); sleep 1; for i in $(seq 120); do /bin/true x $A; done';
    const r = await run(["run", "--quiet", "--", "sh", "-c", script], { env });
    expect(r.code, r.stderr).toBe(0);
    const rep = await run(["report", "--json"], { env });
    const { run: info, processes } = JSON.parse(rep.stdout) as {
      run: { argvLost: number };
      processes: { argv: string[] | null; comm: string | null }[];
    };
    const kept = processes.filter((p) => p.argv?.[0] === "/bin/true" && p.argv[2]?.length === 40000);
    // The thread's read races each /bin/true's exit: under CI load 1 of 120 was once too late (2 Dec
    // 2026, 119 kept), another time 8 (112 kept; 120 of 120 in 12 runs alone right after, beside 4 busy
    // loops too: the host's own load, not reproduced). The bound is what a ring that only dropped
    // records fails (58). Never a wrong argv: what is not kept is counted lost.
    const trues = processes.filter((p) => p.comm === "true");
    expect(trues.length).toBe(120);
    expect(trues.filter((p) => p.argv !== null).length).toBe(kept.length);
    expect(info.argvLost).toBeGreaterThanOrEqual(120 - kept.length);
    expect(kept.length).toBeGreaterThanOrEqual(96);
  },
  60_000,
);

test.skipIf(skip)(
  "exec chains in a full ring: a process is never recorded with the command line of an image it exec'd before",
  async () => {
    // Found 1 Dec by a newcomer's attack: 40 at once of `sh -c 'exec env T tag <40 KB>'` overflow the
    // 1 MiB ring, so the reads of many final execs come late, from the thread; the recorder took the
    // pid's latest read it had, sh's or env's (up to 3 ms older, or since the fork for a process
    // already gone), as the final image's: 16–51 of 400 processes recorded as `sh -c …` or `env …`.
    // An exec's read is stamped after the exec before it: an older read is no answer (argv unknown).
    const { selfargv, oracle } = await oracleSetup();
    const env = { ...isolatedEnv(), ORACLE_DIR: oracle };
    const script = `A=$(head -c 40000 /dev/zero | tr "\\0" a); for r in 1 2 3 4 5 6; do for i in $(seq 40); do sh -c 'exec env "$@"' sh ${selfargv} "r$r-$i" "$A" & done; wait; done`;
    const r = await run(["run", "--quiet", "--", "sh", "-c", script], { env });
    expect(r.code, r.stderr).toBe(0);
    const rep = await run(["report", "--json"], { env });
    const { processes } = JSON.parse(rep.stdout) as { processes: { pid: number; argv: string[] | null }[] };
    const byPid = new Map(processes.map((p) => [p.pid, p]));
    const views = readdirSync(oracle);
    expect(views.length).toBe(240);
    let kept = 0;
    const wrong: string[] = [];
    for (const name of views) {
      const own = selfView(join(oracle, name));
      const argv = byPid.get(Number(name))?.argv ?? null;
      if (argv === null) continue; // unknown: lost with the ring's overflow, and counted as lost
      if (JSON.stringify(argv) === JSON.stringify(own.argv)) kept++;
      else wrong.push(`${name}: ${argv.slice(0, 3).join(" ").slice(0, 60)}`);
    }
    expect(wrong).toEqual([]);
    // the ring still holds most of them: the comparison above had something to compare
    expect(kept).toBeGreaterThan(60);
  },
  120_000,
);

/**
 * 100 × `selfexec 20` (tests/fixtures/selfexec.c: a static binary that execs itself every 44–50 µs
 * here, counting down to 0) under `tracer run`: per chain, its stored argv and priorArgv, counted.
 */
async function selfexecChains(extraEnv: Record<string, string> = {}) {
  await ensureBuilt();
  const dir = tempDir();
  const selfexec = join(dir, "selfexec");
  const cc = Bun.spawnSync([
    "cc",
    "-O2",
    "-static",
    "-nostdlib",
    "-o",
    selfexec,
    join(import.meta.dir, "..", "fixtures", "selfexec.c"),
  ]);
  expect(cc.exitCode, cc.stderr.toString()).toBe(0);
  const env = { ...isolatedEnv(), ...extraEnv };
  // after the kernel's reader has attached (it reads every exec from then on)
  const script = `sleep 0.5; for i in $(seq 100); do ${selfexec} 20; done`;
  const r = await run(["run", "--quiet", "--", "sh", "-c", script], { env });
  expect(r.code, r.stderr).toBe(0);
  const rep = await run(["report", "--json"], { env });
  const { processes } = JSON.parse(rep.stdout) as {
    processes: { argv: string[] | null; comm: string | null; priorArgv?: string[] | null }[];
  };
  const chains = processes.filter((p) => p.comm === "selfexec");
  expect(chains.length).toBe(100);
  const count = (key: (p: (typeof chains)[number]) => unknown) => {
    const m = new Map<string, number>();
    for (const p of chains) m.set(JSON.stringify(key(p)), (m.get(JSON.stringify(key(p))) ?? 0) + 1);
    return Object.fromEntries(m) as Record<string, number>;
  };
  const priors = count((p) => p.priorArgv ?? null);
  const first = JSON.stringify([selfexec, "20"]);
  return {
    argvs: count((p) => p.argv),
    last: JSON.stringify([selfexec, "0"]),
    priors,
    /** chains whose priorArgv is the first image's */
    firstKnown: priors[first] ?? 0,
    /** chains whose priorArgv is another image's: wrong */
    wrong: Object.entries(priors).reduce((n, [k, c]) => (k === first || k === "null" ? n : n + c), 0),
  };
}

test.skipIf(skip || process.arch !== "x64")(
  "a process that execs again within ~50 µs is recorded with its last image's command line, and its first as priorArgv",
  async () => {
    // Found 2 Dec by a newcomer's attack: reads of one exec were matched within 50 µs, and a static
    // binary with no C library execs itself every 44–50 µs here, so the read of its last exec was
    // dropped as one of the exec before (argv lost for 11–28 of 200; 0 of 100 now).
    const c = await selfexecChains();
    expect(c.argvs).toEqual({ [c.last]: 100 });
    // the first image each exec'd itself, though all 21 execs of a chain come in one drain: the watcher
    // remembers a pid's oldest read besides its newest (it kept the newest 4 alone: `selfexec 3` for all
    // 100), and puts a read that comes after a later exec's (the thread's ring is taken before the
    // kernel's) in its place instead of dropping it (that left up to 21 of 100 at `selfexec 19`). A
    // first exec whose own read is lost leaves it unknown, not the nearest later read's image
    // (tests/observe/recorder.test.ts). 100 of 100 known in 6 runs here. 1 wrong in ~12 runs of the
    // file before the thread's records carried their read's time: its read of an exec the kernel's ring
    // missed, made after the chain exec'd again, showed the later image under the first exec's time
    // (the thread alone, TRACER_NO_KERNEL_ARGV=1: 5 of 100 wrong before, 0 now, nearly all unknown:
    // its reads come after the chain's next exec, 50 µs on)
    expect(c.firstKnown, JSON.stringify(c.priors)).toBeGreaterThanOrEqual(95);
    expect(c.wrong, JSON.stringify(c.priors)).toBe(0);
  },
  60_000,
);

test.skipIf(!watcher.available)(
  "the watcher's thread alone (TRACER_NO_KERNEL_ARGV=1) keeps a 3 KB working directory whole",
  async () => {
    // Its readlink buffer held 1,024 bytes and cut longer paths short, unnoticed while the kernel read
    // them (found 1 Dec: a walk too deep for the program fell back to it and got 1,036 of 3,035 bytes).
    const { selfargv, dir, oracle } = await oracleSetup();
    const deep = nestedDir(dir, 1500, "g");
    const env = { ...isolatedEnv(), ORACLE_DIR: oracle, TRACER_NO_KERNEL_ARGV: "1" };
    const r = await run(["run", "--quiet", "--", "sh", "-c", `cd ${deep} && exec ${selfargv} deep`], { env });
    expect(r.code, r.stderr).toBe(0);
    const [name] = readdirSync(oracle);
    const own = selfView(join(oracle, name!));
    expect(own.cwd).toBe(deep);
    const rep = await run(["report", "--json"], { env });
    const { processes } = JSON.parse(rep.stdout) as { processes: { pid: number; cwd: string | null }[] };
    expect(processes.find((p) => p.pid === Number(name))?.cwd).toBe(deep);
  },
  60_000,
);

test.skipIf(skip)(
  "a working directory longer than 4,096 bytes is recorded as unknown, not as the parent's (kernel and thread)",
  async () => {
    // Found 1 Dec by a newcomer's attack: `cd` into a 6,000-byte path, then exec; the process was
    // recorded in the directory its parent had exec'd in, a stale value with nothing to mark it.
    await ensureBuilt();
    const dir = tempDir();
    const part = "P".repeat(200);
    // python's chdir is relative, one component at a time (a shell's cd builds the whole path); its
    // exec of /bin/true is the same process, recorded before in the test's directory
    const py = `import os\nos.chdir("${dir}")\nfor _ in range(30):\n    os.mkdir("${part}")\n    os.chdir("${part}")\nos.execv("/bin/true", ["/bin/true", "toolong"])`;
    try {
      const modes: Record<string, string>[] = [{}, { TRACER_NO_KERNEL_ARGV: "1" }];
      for (const extra of modes) {
        const env = { ...isolatedEnv(), ...extra };
        const r = await run(["run", "--quiet", "--", "python3", "-c", py], { env });
        expect(r.code, r.stderr).toBe(0);
        const rep = await run(["report", "--json"], { env });
        const { processes } = JSON.parse(rep.stdout) as {
          processes: { argv: string[] | null; cwd: string | null }[];
        };
        const deep = processes.find((p) => p.argv?.[1] === "toolong");
        expect(deep, JSON.stringify(processes)).toBeDefined();
        expect(deep!.cwd).toBeNull();
        Bun.spawnSync(["rm", "-rf", join(dir, part)]);
      }
    } finally {
      Bun.spawnSync(["rm", "-rf", join(dir, part)]); // rm walks a tree deeper than PATH_MAX
    }
  },
  60_000,
);
