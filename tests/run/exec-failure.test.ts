/**
 * A CMD that cannot be executed: tracer says what happened, with the path, and exits as bash 5.2 does
 * (127 not found, 126 found but not runnable, 127 for a missing #! interpreter); the stored run has the
 * same status. Side by side with bash -c and tini (tini says 127 for every ENOENT and 126 for EACCES).
 */
import { afterAll, expect, test } from "bun:test";
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BIN, cleanupTemp, isolatedEnv, tempDir } from "../helpers/harness.ts";
import { openDb, start } from "./_helpers.ts";

afterAll(cleanupTemp);

const dir = tempDir();
const noX = join(dir, "no-x-bit.sh");
writeFileSync(noX, "#!/bin/sh\necho hi\n");
const badInterp = join(dir, "bad-interp.sh");
writeFileSync(badInterp, "#!/nonexistent/interp -x\necho hi\n");
chmodSync(badInterp, 0o755);
const noShebang = join(dir, "no-shebang.sh");
writeFileSync(noShebang, "echo no-shebang $1\n");
chmodSync(noShebang, 0o755);
const aDir = join(dir, "a-dir");
mkdirSync(aDir);
// an ELF header for SPARC (e_machine 2): a binary of another machine, ENOEXEC on x86_64 and aarch64
const foreign = join(dir, "sparc-binary");
const elf = Buffer.alloc(64);
elf.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1], 0);
elf.writeUInt16LE(2, 16); // ET_EXEC
elf.writeUInt16LE(2, 18); // EM_SPARC
writeFileSync(foreign, elf);
chmodSync(foreign, 0o755);
const binDir = join(dir, "bin");
mkdirSync(binDir);
writeFileSync(join(binDir, "only-not-x"), "#!/bin/sh\n");

const CASES = [
  ["not in PATH", "no-such-command-here", 127, "no-such-command-here: command not found"],
  ["missing path", join(dir, "missing"), 127, `${join(dir, "missing")}: No such file or directory`],
  ["no x bit", noX, 126, `${noX}: Permission denied`],
  ["a directory", aDir, 126, `${aDir}: Is a directory`],
  [
    "in PATH but not executable",
    "only-not-x",
    126,
    `only-not-x (${join(binDir, "only-not-x")}): Permission denied`,
  ],
  ["under a file", "/etc/passwd/x", 126, "/etc/passwd/x: Not a directory"],
  // fed to /bin/sh before, which printed its bytes as "not found" lines and exited 127 (or 2)
  ["another machine's binary", foreign, 126, `${foreign}: Exec format error`],
  [
    "missing #! interpreter",
    badInterp,
    127,
    `${badInterp}: bad interpreter /nonexistent/interp: No such file or directory`,
  ],
] as const;

test.each(CASES)(
  "%s: tracer's status is bash's, the message names the path, the run stores it",
  async (_n, cmd, want, says) => {
    const env = isolatedEnv({ PATH: `${process.env.PATH}:${binDir}` });
    const bash = await start(["bash", "-c", `exec ${cmd}`], env).done;
    expect(bash.code).toBe(want);
    const r = await start([BIN, "run", "--", cmd], env).done;
    expect(r.code).toBe(want);
    expect(r.stderr).toBe(`tracer: ${says}\n`);
    const db = openDb(env);
    const run = db.query("SELECT exit_code AS code FROM runs").get() as { code: number };
    db.close();
    expect(run.code).toBe(want);
  },
);

test("a CMD name with control or bidi characters is shown escaped as every text output does (\\x1b, \\u{202e})", async () => {
  const env = isolatedEnv();
  const r = await start([BIN, "run", "--", "x\x1b[31my\u202ez"], env).done;
  expect(r.code).toBe(127);
  expect(r.stderr).toBe("tracer: x\\x1b[31my\\u{202e}z: command not found\n");
});

test("a script without #! runs with /bin/sh, as execvp (tini) and shells do", async () => {
  const env = isolatedEnv();
  const r = await start([BIN, "run", "--quiet", "--", noShebang, "arg"], env).done;
  const t = await start(["tini", "-s", "--", noShebang, "arg"], env).done;
  expect(r).toEqual({ code: 0, stdout: "no-shebang arg\n", stderr: "" });
  expect(t.stdout).toBe(r.stdout);
});
