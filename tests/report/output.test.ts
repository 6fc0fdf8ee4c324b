/**
 * `report --output FILE` never follows a symlink and never writes through another user's file (issue
 * 13 finding 9): it writes a temp file beside FILE and renames it over.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import {
  chmodSync,
  chownSync,
  linkSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { BIN, cleanupTemp, isolatedEnv, run, tempDir } from "../helpers/harness.ts";

const NOBODY = 65534;
const root = process.getuid?.() === 0;
if (!root) console.warn("skipping the other-user file test: it needs root to chown a file to nobody");

const env = isolatedEnv();
beforeAll(async () => {
  expect((await run(["run", "--quiet", "--name", "out", "--", "true"], { env })).code).toBe(0);
});
afterAll(cleanupTemp);

/** A directory shared like /tmp: world-writable and sticky. */
function shared(): string {
  const d = join(tempDir(), "shared");
  mkdirSync(d);
  chmodSync(d, 0o1777);
  return d;
}

test("a planted symlink is refused (exit 3) and its target is untouched; nothing is left behind", async () => {
  const dir = shared();
  const victim = join(tempDir(), "victim");
  writeFileSync(victim, "precious\n");
  symlinkSync(victim, join(dir, "report.csv"));
  const r = await run(["report", "out", "--format", "csv", "--output", join(dir, "report.csv")], { env });
  expect(r.code).toBe(3);
  expect(r.stderr).toContain(`refusing to write ${join(dir, "report.csv")}: it is a symbolic link`);
  expect(readFileSync(victim, "utf8")).toBe("precious\n");
  expect(lstatSync(join(dir, "report.csv")).isSymbolicLink()).toBe(true);
  expect(readdirSync(dir)).toEqual(["report.csv"]);
});

test.skipIf(!root)(
  "a hard link to another user's file is refused (exit 3); the file is unchanged",
  async () => {
    const dir = shared();
    const theirs = join(tempDir(), "theirs");
    writeFileSync(theirs, "not yours\n", { mode: 0o644 });
    chownSync(theirs, NOBODY, NOBODY);
    linkSync(theirs, join(dir, "report.json"));
    const r = await run(["report", "out", "--format", "json", "--output", join(dir, "report.json")], { env });
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(`it belongs to uid ${NOBODY}, not to you`);
    expect(readFileSync(theirs, "utf8")).toBe("not yours\n");
    expect(lstatSync(theirs).nlink).toBe(2);
  },
);

test("a FIFO or a device is refused instead of opened", async () => {
  const dir = tempDir();
  Bun.spawnSync(["mkfifo", join(dir, "pipe")]);
  const r = await run(["report", "out", "--format", "csv", "--output", join(dir, "pipe")], { env });
  expect(r.code).toBe(3);
  expect(r.stderr).toContain("it is not a regular file");
  const r2 = await run(["report", "out", "--format", "csv", "--output", "/dev/null"], { env });
  expect(r2.code).toBe(3);
});

test("a new file or one of ours is written whole (umask-derived mode); a hard link of ours is not written through", async () => {
  const dir = tempDir();
  const fresh = join(dir, "fresh.csv");
  const r = await run(["sh", "-c", `umask 027; exec ${BIN} report out --format csv --output ${fresh}`], {
    env,
    bin: "/usr/bin/env",
  });
  expect(r.code, r.stderr).toBe(0);
  expect(readFileSync(fresh, "utf8")).toStartWith("index,name,");
  expect(lstatSync(fresh).mode & 0o777).toBe(0o640);
  const mine = join(dir, "mine.csv");
  writeFileSync(mine, "old\n");
  linkSync(mine, join(dir, "other-name"));
  expect((await run(["report", "out", "--format", "csv", "--output", mine], { env })).code).toBe(0);
  expect(readFileSync(mine, "utf8")).toStartWith("index,name,");
  expect(readFileSync(join(dir, "other-name"), "utf8")).toBe("old\n");
  expect(readdirSync(dir).sort()).toEqual(["fresh.csv", "mine.csv", "other-name"]);
});

test("a directory as the output is a usage slip (exit 2, a hint), not a refusal; a missing directory is named", async () => {
  const dir = tempDir();
  const r = await run(["report", "out", "--format", "csv", "--output", dir], { env });
  expect(r.code).toBe(2);
  expect(r.stderr).toContain(`cannot write ${dir}: it is a directory`);
  expect(r.stderr).toContain(join(dir, "report"));
  expect(r.stderr).not.toContain("remove it");
  const missing = join(dir, "nodir", "x.csv");
  const r2 = await run(["report", "out", "--format", "csv", "--output", missing], { env });
  expect(r2.code).toBe(1);
  expect(r2.stderr).toContain(`cannot write ${missing}: the directory ${join(dir, "nodir")} does not exist`);
  expect(r2.stderr).not.toContain("ENOENT");
  expect(readdirSync(dir)).toEqual([]);
});
