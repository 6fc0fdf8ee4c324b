/**
 * `tracer top` on a real pty (script(1) from util-linux) ended by a real signal: SIGTERM, SIGHUP or
 * SIGINT restores the terminal and the process is gone at once with the status a shell gives a killed
 * command (128 + N); `q` still exits 0. The old loop restored the terminal on SIGTERM but stayed alive
 * in epoll_wait until a second one.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { BIN, cleanupTemp, ensureBuilt, isolatedEnv, pidAlive, waitFor } from "../helpers/harness.ts";

const hasScript = Bun.spawnSync(["sh", "-c", "script --version"]).exitCode === 0;
if (!hasScript) console.warn("skipping: script(1) from util-linux is not installed (it gives top a pty)");

beforeAll(ensureBuilt);
afterAll(cleanupTemp);

const LEAVE_ALT = "\x1b[?25h\x1b[?1049l";

const children = (pid: number): number[] => {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8")
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
};

/** `tracer top` under script(1) (script → sh → tracer); the shell prints `rc=STATUS` once top is gone */
async function topOnPty() {
  const env = isolatedEnv({ SHELL: "/bin/sh", TERM: "xterm" });
  const pty = Bun.spawn(["script", "-qfc", `'${BIN}' top; echo "rc=$?"`, "/dev/null"], {
    env,
    stdin: "pipe",
    stdout: "pipe",
    stderr: "pipe",
  });
  let out = "";
  const reading = (async () => {
    const text = new TextDecoder();
    for await (const chunk of pty.stdout) out += text.decode(chunk, { stream: true });
  })();
  let top = 0;
  await waitFor(
    () => {
      for (const sh of children(pty.pid))
        for (const pid of children(sh))
          if (readFileSync(`/proc/${pid}/cmdline`, "utf8").startsWith(`${BIN}\0top`)) top = pid;
      return top !== 0;
    },
    10_000,
    "tracer top under script",
  );
  // drawn: the live view is up, its handlers installed
  await waitFor(() => out.includes("q quit"), 10_000, "the first screen").catch((e) => {
    throw new Error(`${(e as Error).message}; output: ${JSON.stringify(out)}`);
  });
  return {
    top,
    output: () => out,
    send: (s: string) => {
      pty.stdin.write(s);
      pty.stdin.flush();
    },
    /** wait (bounded) for top to be gone and the shell's rc line; then end script */
    async end() {
      try {
        await waitFor(() => !pidAlive(top) && /rc=\d+/.test(out), 5_000, "top to exit").catch((e) => {
          throw new Error(
            `${(e as Error).message}; alive: ${pidAlive(top)}; output tail: ${JSON.stringify(out.slice(-120))}`,
          );
        });
      } finally {
        if (pidAlive(top)) process.kill(top, "SIGKILL");
        pty.stdin.end();
        await pty.exited;
        await reading;
      }
      return out;
    },
  };
}

for (const [signal, status] of [
  ["SIGTERM", 143],
  ["SIGHUP", 129],
  ["SIGINT", 130],
] as const)
  test.skipIf(!hasScript)(
    `top on a pty: one ${signal} restores the terminal and ends it with status ${status}`,
    async () => {
      const t = await topOnPty();
      process.kill(t.top, signal);
      const out = await t.end();
      // the terminal restored, as the last thing top wrote, then the shell's line
      expect(out.slice(-(LEAVE_ALT.length + 20))).toEndWith(`${LEAVE_ALT}rc=${status}\r\n`);
    },
    30_000,
  );

test.skipIf(!hasScript)(
  "top on a pty: q restores the terminal and exits 0",
  async () => {
    const t = await topOnPty();
    t.send("q");
    const out = await t.end();
    expect(out.slice(-(LEAVE_ALT.length + 20))).toEndWith(`${LEAVE_ALT}rc=0\r\n`);
  },
  30_000,
);
