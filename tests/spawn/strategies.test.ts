import { afterEach, describe, expect, test } from "bun:test";
import {
  closeSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  readlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { daemonPid, environOf, fdTargets, sessionId, stopDaemon } from "../helpers/daemon.ts";
import { BIN, cleanupTemp, isolatedEnv, run, tempDir } from "../helpers/harness.ts";

const envs: Record<string, string>[] = [];
const fresh = (extra: Record<string, string> = {}) => {
  const env = isolatedEnv(extra);
  envs.push(env);
  return env;
};
afterEach(async () => {
  for (const env of envs.splice(0)) await stopDaemon(env);
  cleanupTemp();
});

/** Start `tracer init` with an extra, inheritable fd 3 (a marker file) to prove it never reaches the daemon. */
async function initWithMarkerFd(env: Record<string, string>, args: string[]) {
  const marker = join(tempDir(), "inherited-marker");
  writeFileSync(marker, "x");
  const fd = openSync(marker, "r");
  try {
    const p = Bun.spawn([BIN, "init", ...args], { env, stdio: ["ignore", "pipe", "pipe", fd] });
    const [out, err, code] = await Promise.all([
      new Response(p.stdout).text(),
      new Response(p.stderr).text(),
      p.exited,
    ]);
    return { code, out, err, marker };
  } finally {
    closeSync(fd);
  }
}

describe.each(["fd", "proc-fd", "verified"])("spawn strategy %s (forced)", (strategy) => {
  test("starts a working daemon: session leader, exe is the binary, only its own fds, scrubbed env", async () => {
    const env = fresh({ TRACER_SPAWN: strategy });
    const r = await initWithMarkerFd(env, []);
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    expect(r.out).toContain(`(pid ${daemonPid(env)}, ${strategy} spawn)`);
    const pid = daemonPid(env)!;
    const info = JSON.parse((await run(["info", "--json"], { env })).stdout);
    expect(info.strategy).toBe(strategy);
    expect(info.pid).toBe(pid);

    expect(readlinkSync(`/proc/${pid}/exe`)).toBe(BIN);
    expect(sessionId(pid)).toBe(pid);
    expect(readlinkSync(`/proc/${pid}/cwd`)).toBe("/");

    const log = join(env.TRACER_STATE_DIR!, "daemon.log");
    // everything else is something the daemon keeps open itself (incl. its checked dirs,
    // src/core/trusted.ts). A file it reads and closes (kernel type information, /proc) can be open at
    // the moment of a look (one CI run): a kept fd shows in every look, up to 10 over ~1 s
    const own = [
      join(env.TRACER_RUNTIME_DIR!, "daemon.lock"),
      env.TRACER_STATE_DIR!,
      env.TRACER_RUNTIME_DIR!,
    ];
    const stranger = (fds: { fd: number; target: string }[]) =>
      fds.filter((f) => f.fd > 2 && !own.includes(f.target) && !/^(socket|anon_inode|pipe):/.test(f.target));
    let fds = fdTargets(pid);
    for (let look = 1; look < 10 && stranger(fds).length > 0; look++) {
      await Bun.sleep(100);
      fds = fdTargets(pid);
    }
    expect(fds.find((f) => f.fd === 0)?.target).toBe("/dev/null");
    expect(fds.find((f) => f.fd === 1)?.target).toBe(log);
    expect(fds.find((f) => f.fd === 2)?.target).toBe(log);
    expect(stranger(fds)).toEqual([]);
    expect(fds.some((f) => f.target === r.marker)).toBe(false);
  });

  test("also selectable with --spawn", async () => {
    const env = fresh();
    const r = await run(["init", "--spawn", strategy, "--json"], { env });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).strategy).toBe(strategy);
  });
});

describe("what the caller's environment cannot do to the daemon", () => {
  test("BUN_OPTIONS=--preload and LD_PRELOAD never reach the daemon", async () => {
    const dir = tempDir();
    const marker = join(dir, "ran");
    const preload = join(dir, "evil.ts");
    writeFileSync(
      preload,
      `require("fs").appendFileSync(${JSON.stringify(marker)}, "bun " + process.argv.join(" ") + "\\n");`,
    );
    const csrc = join(dir, "evil.c");
    writeFileSync(
      csrc,
      `#include <stdio.h>\n#include <string.h>\n__attribute__((constructor)) static void hit(void) {` +
        ` char b[4096] = {0}; FILE *c = fopen("/proc/self/cmdline", "r"); size_t n = c ? fread(b, 1, sizeof b - 1, c) : 0;` +
        ` for (size_t i = 0; i < n; i++) if (!b[i]) b[i] = ' ';` +
        ` FILE *f = fopen(${JSON.stringify(marker)}, "a"); if (f) { fprintf(f, "ld %s\\n", b); fclose(f); } }\n`,
    );
    const so = join(dir, "evil.so");
    const cc = Bun.spawnSync(["cc", "-shared", "-fPIC", "-o", so, csrc]);
    expect(cc.exitCode).toBe(0);
    for (const strategy of ["fd", "proc-fd", "verified"]) {
      const env = fresh({ BUN_OPTIONS: `--preload=${preload}`, LD_PRELOAD: so, TRACER_SPAWN: strategy });
      expect((await run(["init"], { env })).code).toBe(0);
      const pid = daemonPid(env)!;
      const names = environOf(pid);
      expect(names).not.toContain("BUN_OPTIONS");
      expect(names).not.toContain("LD_PRELOAD");
      await stopDaemon(env);
    }
    const lines = existsSync(marker) ? readFileSync(marker, "utf8") : "";
    // the LD_PRELOAD library did run in the CLI processes (so the test can fail) but never in a daemon
    expect(lines).toContain("ld ");
    expect(lines).not.toContain("__daemon");
  });

  test("a bunfig.toml preload and a .env in the working directory have no effect", async () => {
    const cwd = tempDir();
    const marker = join(cwd, "preload-ran");
    writeFileSync(join(cwd, "evil.ts"), `require("fs").writeFileSync(${JSON.stringify(marker)}, "ran");`);
    writeFileSync(join(cwd, "bunfig.toml"), `preload = ["./evil.ts"]\n[run]\npreload = ["./evil.ts"]\n`);
    writeFileSync(join(cwd, ".env"), `TRACER_STATE_DIR=${join(cwd, "from-dotenv")}\nTRACER_SPAWN=bogus\n`);
    const env = fresh();
    expect((await run(["--version"], { env, cwd })).code).toBe(0);
    const doc = JSON.parse((await run(["doctor", "--json"], { env, cwd })).stdout);
    expect(doc.dirs.state.path).toBe(env.TRACER_STATE_DIR);
    expect((await run(["init"], { env, cwd })).code).toBe(0);
    expect(existsSync(marker)).toBe(false);
    expect(existsSync(join(cwd, "from-dotenv"))).toBe(false);
  });
});

describe("the verified strategy refuses (exit 3) and starts nothing", () => {
  test("when argv0 points at another file", async () => {
    const env = fresh({ TRACER_SPAWN: "verified" });
    const r = await run(["init"], { env, argv0: "/usr/bin/true" });
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(
      'argv0 "/usr/bin/true" resolves to /usr/bin/true, not to the running executable',
    );
    expect(daemonPid(env)).toBeUndefined();
  });

  test("when argv0 has no slash and PATH does not lead to the binary", async () => {
    const env = fresh({ TRACER_SPAWN: "verified", PATH: "/usr/bin:/bin" });
    const r = await run(["init"], { env, argv0: "tracer" });
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('argv0 "tracer" resolves to nothing');
  });

  test("but accepts argv0 found through PATH", async () => {
    const env = fresh({ TRACER_SPAWN: "verified", PATH: `${join(BIN, "..")}:/usr/bin:/bin` });
    const r = await run(["init"], { env, argv0: "tracer" });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
  });

  test("when a directory in the path is world-writable", async () => {
    const open = join(tempDir(), "open");
    mkdirSync(open, { mode: 0o777 });
    Bun.spawnSync(["chmod", "0777", open]);
    const bin = join(open, "tracer");
    copyFileSync(BIN, bin);
    Bun.spawnSync(["chmod", "0755", bin]);
    const env = fresh({ TRACER_SPAWN: "verified" });
    const r = await run(["init"], { env, bin, argv0: bin });
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(`${open} is world-writable`);
    // the same binary in a private directory is fine
    const env2 = fresh({ TRACER_SPAWN: "fd" });
    expect((await run(["init"], { env: env2, bin, argv0: bin })).code).toBe(0);
  });

  test("when the binary is replaced after start-up (inode change)", async () => {
    const { FileLock } = await import("../../src/daemon/lock.ts");
    const dir = tempDir();
    const bin = join(dir, "tracer");
    copyFileSync(BIN, bin);
    Bun.spawnSync(["chmod", "0755", bin]);
    const env = fresh({ TRACER_SPAWN: "verified" });
    mkdirSync(env.TRACER_RUNTIME_DIR!, { recursive: true, mode: 0o700 });
    // Hold the init lock so `init` has captured its identity and waits right before spawning.
    const lock = FileLock.tryAcquire(join(env.TRACER_RUNTIME_DIR!, "init.lock"))!;
    const p = Bun.spawn([bin, "init"], { env, argv0: bin, stdout: "pipe", stderr: "pipe" });
    await Bun.sleep(300);
    copyFileSync(BIN, `${bin}.new`);
    Bun.spawnSync(["chmod", "0755", `${bin}.new`]);
    Bun.spawnSync(["mv", `${bin}.new`, bin]);
    lock.release();
    const [err, code] = await Promise.all([new Response(p.stderr).text(), p.exited]);
    expect(code).toBe(3);
    expect(err).toContain("was replaced since start-up");
    expect(daemonPid(env)).toBeUndefined();
  });
});
