/**
 * State and runtime dirs are trusted only when every ancestor is root's or ours and not writable by
 * others (sticky excepted), checked and used through dir fds; files in them are 0600; a symlinked
 * state dir is refused by every command alike (issue 13 findings 7–8, issue 17).
 */
import { afterAll, describe, expect, test } from "bun:test";
import {
  chmodSync,
  chownSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  renameSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { trustDir } from "../../src/core/trusted.ts";
import { FileLock } from "../../src/daemon/lock.ts";
import { Outbox } from "../../src/export/outbox.ts";
import { openStore } from "../../src/store/index.ts";
import { stopDaemon } from "../helpers/daemon.ts";
import { cleanupTemp, ensureBuilt, isolatedEnv, run, tempDir } from "../helpers/harness.ts";

afterAll(cleanupTemp);

const NOBODY = 65534;
const root = process.getuid?.() === 0;
// Debian's python3 (scripts/setup-system.sh): a user-level one (pyenv under /root) is not nobody's to run
const setpriv = Bun.spawnSync(["sh", "-c", "command -v setpriv && test -x /usr/bin/python3"]).exitCode === 0;
if (!root) console.warn("skipping the other-owner tests: they need root to chown to nobody");
if (!setpriv) console.warn("skipping the race test: it needs setpriv and /usr/bin/python3");

const mode = (p: string) => statSync(p).mode & 0o7777;
/** Every file (not dir) under `dir`, recursively, with its mode. */
function filesOf(dir: string): { path: string; mode: number }[] {
  const out: { path: string; mode: number }[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...filesOf(p));
    else out.push({ path: p, mode: lstatSync(p).mode & 0o7777 });
  }
  return out;
}

describe("the ancestor walk", () => {
  test("a group- or world-writable ancestor that is not sticky is refused; a sticky one is fine", () => {
    const base = tempDir();
    const open = join(base, "open");
    mkdirSync(open);
    chmodSync(open, 0o777);
    expect(() => trustDir(join(open, "state"), { create: true })).toThrow(
      /open is group- or world-writable and not sticky \(mode 0777\)/,
    );
    expect(existsSync(join(open, "state"))).toBe(false);
    chmodSync(open, 0o1777); // like /tmp
    const d = trustDir(join(open, "state"), { create: true });
    expect(d).toBeDefined();
    expect(mode(join(open, "state"))).toBe(0o700);
  });

  test.skipIf(!root)("an ancestor owned by another user is refused before anything is created", () => {
    const base = tempDir();
    const theirs = join(base, "theirs");
    mkdirSync(theirs, { mode: 0o755 });
    chownSync(theirs, NOBODY, NOBODY);
    expect(() => trustDir(join(theirs, "a", "state"), { create: true })).toThrow(
      new RegExp(`${theirs} is owned by uid ${NOBODY}, neither root nor you`),
    );
    expect(readdirSync(theirs)).toEqual([]);
  });

  test.skipIf(!root)("ancestor symlinks: followed when root's or ours, refused when another's", () => {
    const base = tempDir();
    mkdirSync(join(base, "real"), { mode: 0o700 });
    symlinkSync(join(base, "real"), join(base, "mine"));
    expect(trustDir(join(base, "mine", "state"), { create: true })).toBeDefined();
    expect(existsSync(join(base, "real", "state"))).toBe(true);
    symlinkSync(join(base, "real"), join(base, "theirs"));
    // lchown: the link itself belongs to nobody now
    Bun.spawnSync(["chown", "-h", `${NOBODY}`, join(base, "theirs")]);
    expect(lstatSync(join(base, "theirs")).uid).toBe(NOBODY);
    expect(() => trustDir(join(base, "theirs", "state2"), { create: true })).toThrow(
      /theirs is a symbolic link owned by uid 65534/,
    );
  });

  test("the dir itself: a symlink, another's dir or a writable one is refused; a 0755 one is tightened", () => {
    const base = tempDir();
    mkdirSync(join(base, "target"), { mode: 0o700 });
    symlinkSync(join(base, "target"), join(base, "link"));
    expect(() => trustDir(join(base, "link"), { create: true })).toThrow(/it is a symbolic link/);
    mkdirSync(join(base, "wide"), { mode: 0o700 });
    chmodSync(join(base, "wide"), 0o757);
    expect(() => trustDir(join(base, "wide"), { create: true })).toThrow(/it is group- or world-writable/);
    mkdirSync(join(base, "readable"), { mode: 0o700 });
    chmodSync(join(base, "readable"), 0o755);
    trustDir(join(base, "readable"), { create: false });
    expect(mode(join(base, "readable"))).toBe(0o700);
    expect(trustDir(join(base, "absent"), { create: false })).toBeUndefined();
    expect(existsSync(join(base, "absent"))).toBe(false);
  });

  test("used through the checked fd: a dir swapped after the check gets none of the writes", () => {
    const base = tempDir();
    const state = join(base, "p", "state");
    trustDir(state, { create: true });
    // the swap: the checked tree moves away, a look-alike takes its path
    renameSync(join(base, "p"), join(base, "moved"));
    mkdirSync(state, { recursive: true, mode: 0o700 });
    const db = openStore(join(state, "tracer.db"));
    db.exec("CREATE TABLE IF NOT EXISTS probe (x)");
    db.exec("INSERT INTO probe VALUES (1)");
    const lock = FileLock.tryAcquire(trustDir(state, { create: true })!.at("daemon.lock"));
    expect(lock).toBeDefined();
    lock?.release();
    db.close();
    expect(readdirSync(state)).toEqual([]);
    // (tracer.db's -wal and -shm are kept by the last writer's close: src/store/db.ts)
    expect(readdirSync(join(base, "moved", "state")).sort()).toEqual([
      "daemon.lock",
      "tracer.db",
      "tracer.db-shm",
      "tracer.db-wal",
    ]);
  });
});

test("the OTLP outbox and its -wal/-shm are 0600 (umask 022)", () => {
  const dir = join(tempDir(), "state");
  trustDir(dir, { create: true });
  const old = process.umask(0o022);
  try {
    const box = new Outbox(join(dir, "otlp-outbox.db"));
    box.enqueue("traces", { service: "t" }, [{ body: { span: 1 }, units: 1 }]);
    expect(
      filesOf(dir)
        .map((f) => `${f.path.replace(/^.*\//, "")} ${f.mode.toString(8)}`)
        .sort(),
    ).toEqual(["otlp-outbox.db 600", "otlp-outbox.db-shm 600", "otlp-outbox.db-wal 600"]);
    box.close();
  } finally {
    process.umask(old);
  }
});

describe("the compiled binary", () => {
  test("tracer.db, its -wal/-shm, the log, locks, pid file and socket are all 0600 (umask 022)", async () => {
    await ensureBuilt();
    const env = isolatedEnv();
    // a database an older tracer left 0644 is tightened when it is next opened
    mkdirSync(env.TRACER_STATE_DIR!, { mode: 0o700 });
    writeFileSync(join(env.TRACER_STATE_DIR!, "tracer.db"), "", { mode: 0o644 });
    chmodSync(join(env.TRACER_STATE_DIR!, "tracer.db"), 0o644);
    const sh = (cmd: string) => run(["sh", "-c", `umask 022; ${cmd}`], { env, bin: "/usr/bin/env" });
    const { BIN } = await import("../helpers/harness.ts");
    // during a run the -wal and -shm exist: look at them from inside the recorded command
    const r = await sh(`${BIN} run -- sh -c 'stat -c "%n %a" "$TRACER_STATE_DIR"/tracer.db*'`);
    expect(r.code).toBe(0);
    const seen = r.stdout.trim().split("\n");
    expect(seen.map((l) => l.replace(/^.*\//, ""))).toEqual([
      "tracer.db 600",
      "tracer.db-shm 600",
      "tracer.db-wal 600",
    ]);
    try {
      expect((await sh(`${BIN} init --run modes`)).code).toBe(0);
      const all = [...filesOf(env.TRACER_STATE_DIR!), ...filesOf(env.TRACER_RUNTIME_DIR!)];
      expect(all.map((f) => f.path.replace(/^.*\//, "")).sort()).toEqual(
        expect.arrayContaining([
          "daemon.lock",
          "daemon.log",
          "daemon.pid",
          "init.lock",
          "tracer.db",
          "tracer.sock",
        ]),
      );
      for (const f of all)
        expect({ path: f.path, mode: f.mode.toString(8) }).toEqual({ path: f.path, mode: "600" });
    } finally {
      await stopDaemon(env);
    }
  });

  test("a symlinked state dir is refused by every command alike, with one message (exit 3)", async () => {
    await ensureBuilt();
    const env = isolatedEnv();
    expect((await run(["run", "--", "true"], { env })).code).toBe(0);
    const link = `${env.TRACER_STATE_DIR}-link`;
    symlinkSync(env.TRACER_STATE_DIR!, link);
    const linked = { ...env, TRACER_STATE_DIR: link };
    const message = `tracer: refusing to use ${link}: it is a symbolic link`;
    for (const args of [
      ["run", "--", "true"],
      ["runs"],
      ["runs", "--json"],
      ["report"],
      ["report", "--format", "json"],
      ["logs"],
      ["info"],
      ["init"],
      ["start"],
      ["stop"],
      ["terminate"],
    ]) {
      const r = await run(args, { env: linked });
      // under --json the error is a JSON object on stdout (docs/CLI.md), with the same message
      const first = args.includes("--json")
        ? `tracer: ${JSON.parse(r.stdout).error.message}`
        : r.stderr.split("\n")[0];
      expect({ args, code: r.code, first }).toEqual({ args, code: 3, first: message });
    }
  });

  test.skipIf(!root || !setpriv)(
    "an attacker owning a parent of TRACER_STATE_DIR and swapping it in a loop: 0 of 60 runs write there",
    async () => {
      await ensureBuilt();
      const base = tempDir();
      chmodSync(base, 0o755);
      const att = join(base, "attacker");
      mkdirSync(att, { mode: 0o755 });
      mkdirSync(join(att, "decoy"), { mode: 0o777 });
      chownSync(att, NOBODY, NOBODY);
      chownSync(join(att, "decoy"), NOBODY, NOBODY);
      // as nobody: exchange <att>/state and <att>/decoy (renameat2 RENAME_EXCHANGE) as fast as possible
      const racer = Bun.spawn(
        [
          "setpriv",
          `--reuid=${NOBODY}`,
          `--regid=${NOBODY}`,
          "--clear-groups",
          "/usr/bin/python3",
          "-c",
          `import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
os.chdir(${JSON.stringify(att)})
while True:
    libc.renameat2(-100, b"state", -100, b"decoy", 2)`,
        ],
        { stdout: "ignore", stderr: "ignore" },
      );
      const env = isolatedEnv({ TRACER_STATE_DIR: join(att, "state") });
      const codes: number[] = [];
      try {
        for (let i = 0; i < 60; i++) {
          const r = await run(["run", "--quiet", "--", "true"], { env });
          codes.push(r.code);
          if (r.code !== 3) break;
          expect(r.stderr).toContain(`${att} is owned by uid ${NOBODY}, neither root nor you`);
        }
        expect(racer.exitCode).toBeNull(); // the racer ran all along
      } finally {
        racer.kill();
        await racer.exited;
      }
      expect(codes).toEqual(Array(60).fill(3));
      // nothing of root's anywhere in the attacker's tree
      const rootOwned = [att, ...filesOf(att).map((f) => f.path)].filter(
        (p) => p !== att && lstatSync(p).uid === 0,
      );
      expect(rootOwned).toEqual([]);
      expect(readdirSync(att).sort()).toEqual(["decoy"]);
    },
    120_000,
  );
});
