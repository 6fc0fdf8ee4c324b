/**
 * `tracer run` as an init, side by side with tini (Debian's tini 0.19) on the same cases: exit codes,
 * every forwarded signal, orphan reaping, PID 1 in a new PID namespace.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cleanupTemp, isolatedEnv, tempDir, waitFor } from "../helpers/harness.ts";
import { INITS, type InitName, PY, start, zombiesOf } from "./_helpers.ts";

afterAll(cleanupTemp);
const inits = Object.keys(INITS) as InitName[];

describe.each([
  ["exit 0", ["sh", "-c", "exit 0"], 0],
  ["exit 3", ["sh", "-c", "exit 3"], 3],
  ["killed by SIGINT", ["sh", "-c", "kill -INT $$"], 130],
  ["killed by SIGTERM", ["sh", "-c", "kill -TERM $$"], 143],
  ["killed by SIGKILL", ["sh", "-c", "kill -KILL $$"], 137],
] as const)("exit status: %s", (_name, cmd, want) => {
  test.each(inits)("%s", async (init) => {
    const r = await start(INITS[init]([...cmd])).done;
    expect(r.code).toBe(want);
  });
});

test("the environment reaches CMD untouched, loader and runtime variables included", async () => {
  const env = isolatedEnv({
    LD_LIBRARY_PATH: "/opt/lib",
    NODE_OPTIONS: "--max-old-space-size=64",
    X_MINE: "a b",
  });
  const r = await start(
    INITS.tracer(["sh", "-c", 'printf "%s|%s|%s" "$LD_LIBRARY_PATH" "$NODE_OPTIONS" "$X_MINE"']),
    env,
  ).done;
  expect(r.stdout).toBe("/opt/lib|--max-old-space-size=64|a b");
});

test("stdout and stderr pass through untouched; --quiet leaves stderr to CMD", async () => {
  const r = await start(INITS.tracer(["sh", "-c", "printf 'out\\0x'; printf err >&2"])).done;
  expect(r.stdout).toBe("out\0x");
  expect(r.stderr).toBe("err");
});

// The child reports the signal it got in a file and exits 40 + its number.
const CATCHER = `
import signal, sys, os, time
out = sys.argv[1]
def h(n, f):
    open(out, "w").write(signal.Signals(n).name)
    os._exit(40 + n)
for s in sys.argv[2:]:
    signal.signal(getattr(signal, s), h)
open(out + ".ready", "w").close()
while True: time.sleep(0.02)
`;

describe.each(["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2", "SIGWINCH"] as const)(
  "forwards %s",
  (sig) => {
    test.each(inits)("%s", async (init) => {
      const out = join(tempDir(), "got");
      const s = start(INITS[init]([PY, "-c", CATCHER, out, sig]));
      await waitFor(() => existsSync(`${out}.ready`), 10_000, "the child to install its handler");
      process.kill(s.proc.pid, sig);
      const r = await s.done;
      expect(readFileSync(out, "utf8")).toBe(sig);
      const num = { SIGINT: 2, SIGTERM: 15, SIGHUP: 1, SIGQUIT: 3, SIGUSR1: 10, SIGUSR2: 12, SIGWINCH: 28 }[
        sig
      ];
      expect(r.code).toBe(40 + num);
    });
  },
);

describe("orphans are reaped", () => {
  test.each(inits)("%s: a double-forked grandchild leaves no zombie", async (init) => {
    const dir = tempDir();
    // the grandchild writes its pid, lives 0.2 s, exits; the child keeps running meanwhile
    const script = `(sh -c 'echo $$ > ${dir}/gc; sleep 0.2; exit 5' &) ; exec sleep 5`;
    const s = start(INITS[init](["sh", "-c", script]));
    await waitFor(
      () => existsSync(`${dir}/gc`) && readFileSync(`${dir}/gc`, "utf8").trim() !== "",
      10_000,
      "grandchild",
    );
    const gc = Number(readFileSync(`${dir}/gc`, "utf8"));
    // a zombie stays in /proc until its parent reaps it: gone from /proc = reaped
    await waitFor(() => !existsSync(`/proc/${gc}`), 10_000, `the grandchild ${gc} to be reaped`);
    expect(zombiesOf(s.proc.pid)).toEqual([]);
    s.proc.kill("SIGTERM");
    expect((await s.done).code).toBe(143);
  });
});

describe("PID 1 in a new PID namespace (unshare -fp --mount-proc)", () => {
  const canUnshare = Bun.spawnSync(["unshare", "-fp", "--mount-proc", "true"]).exitCode === 0;
  if (!canUnshare) console.warn("skipping: unshare -fp --mount-proc is not permitted here");
  // Inside, CMD's orphan exits while CMD still runs; afterwards CMD counts the zombies in the namespace.
  const script =
    "echo init=$(cut -d' ' -f1 /proc/1/stat); (sh -c 'exit 7' &); sleep 0.5; " +
    `echo zombies=$(cat /proc/[0-9]*/stat 2>/dev/null | awk '$3=="Z"' | wc -l); exit 3`;
  test.skipIf(!canUnshare).each(inits)("%s", async (init) => {
    const argv = init === "tini" ? ["tini", "--", "sh", "-c", script] : INITS[init](["sh", "-c", script]);
    const r = await start(["unshare", "-fp", "--mount-proc", ...argv], isolatedEnv()).done;
    expect(r.stdout).toContain("init=1");
    expect(r.stdout).toContain("zombies=0");
    expect(r.code).toBe(3);
  });
});

describe("Ctrl-C on a terminal reaches CMD once (script(1) provides the pty)", () => {
  const hasScript = Bun.spawnSync(["sh", "-c", "command -v script"]).exitCode === 0;
  if (!hasScript) console.warn("skipping: script(1) from util-linux is not installed");
  const COUNTER = `
import signal, sys, time
n = 0
def h(s, f):
    global n
    n += 1
signal.signal(signal.SIGINT, h)
open(sys.argv[1], "w").close()
time.sleep(1)
print("SIGINT", n, flush=True)
`;
  test.skipIf(!hasScript).each(inits)("%s", async (init) => {
    const dir = tempDir();
    const quoted = INITS[init]([PY, "-c", COUNTER, `${dir}/ready`]).map(
      (a) => `'${a.replace(/'/g, "'\\''")}'`,
    );
    writeFileSync(`${dir}/cmd.sh`, `exec ${quoted.join(" ")}\n`);
    // type ^C once CMD is ready, and keep the terminal open until CMD has answered
    const feed = `while [ ! -e ${dir}/ready ]; do sleep 0.02; done; printf '\\003'; sleep 2`;
    const r = await start(["sh", "-c", `(${feed}) | script -qfec "sh ${dir}/cmd.sh" /dev/null`]).done;
    expect(r.stdout.replace(/\r/g, "")).toContain("SIGINT 1\n");
  });

  // the terminal's SIGINT is marked SI_KERNEL; one sent with kill(2) is not, and must be forwarded
  test.skipIf(!hasScript).each(inits)(
    "%s: kill -INT <init pid> from elsewhere, in the foreground",
    async (init) => {
      const dir = tempDir();
      const quoted = INITS[init]([PY, "-c", COUNTER, `${dir}/ready`]).map(
        (a) => `'${a.replace(/'/g, "'\\''")}'`,
      );
      writeFileSync(`${dir}/cmd.sh`, `exec ${quoted.join(" ")}\n`);
      const s = start(["script", "-qfec", `sh ${dir}/cmd.sh`, "/dev/null"]);
      await waitFor(() => existsSync(`${dir}/ready`), 10_000, "CMD to be ready");
      // the init is CMD's parent; CMD is the python process with our ready file in its argv
      const read = (f: string) => {
        try {
          return readFileSync(f, "latin1");
        } catch {
          return ""; // a process of someone else's that just ended
        }
      };
      const cmd = readdirSync("/proc").find(
        (n) =>
          /^\d+$/.test(n) &&
          read(`/proc/${n}/cmdline`).includes(`${dir}/ready`) &&
          read(`/proc/${n}/comm`).startsWith("python"),
      );
      const st = read(`/proc/${cmd}/stat`);
      const initPid = Number(st.slice(st.lastIndexOf(")") + 2).split(" ")[1]);
      process.kill(initPid, "SIGINT");
      const r = await s.done;
      expect(r.stdout.replace(/\r/g, "")).toContain("SIGINT 1\n");
    },
  );
});
