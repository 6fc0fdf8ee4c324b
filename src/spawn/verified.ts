/**
 * The verified spawn: the portable strategy and the last fallback. It starts the executable by path,
 * but only after proving that path still names the file this process started from:
 *  - the realpath captured at start-up still has the same dev/inode/size/mtime;
 *  - argv0 (resolved through PATH when it has no slash) leads to that same file;
 *  - no component of the path chain can be swapped by someone else: no world-writable or
 *    non-root-group-writable directory (a sticky world-writable dir such as /tmp is accepted only
 *    when the next component is owned by root or by us: the sticky bit stops others renaming it).
 * Any mismatch refuses (exit code 3); nothing is started.
 */
import { S_ISVTX } from "../core/fsflags.ts";
import { accessSync, constants, lstatSync, realpathSync } from "node:fs";
import { delimiter, join, resolve, sep } from "node:path";
import { refused } from "../errors.ts";
import { type SelfImage, sameIdentity } from "./self.ts";

const uid = () => process.getuid?.() ?? 0;

function describe(id: { dev: number; ino: number; size: number; mtimeMs: number }) {
  return `dev ${id.dev} inode ${id.ino} size ${id.size}`;
}

/** Resolve argv0 the way a shell found it; undefined when it cannot be resolved. */
export function resolveArgv0(argv0: string, env: Record<string, string | undefined> = process.env) {
  try {
    if (argv0.includes("/")) return realpathSync(resolve(argv0));
    for (const dir of (env.PATH ?? "").split(delimiter)) {
      if (!dir) continue;
      const candidate = join(dir, argv0);
      try {
        accessSync(candidate, constants.X_OK);
        return realpathSync(candidate);
      } catch {}
    }
  } catch {}
  return undefined;
}

/** Every problem in the path chain of `file` (an absolute realpath), or [] when it is safe. */
export function pathChainProblems(file: string): string[] {
  const problems: string[] = [];
  const parts = file.split(sep).filter(Boolean);
  let parentSticky = false;
  const chain = ["/", ...parts.map((_, i) => `/${parts.slice(0, i + 1).join("/")}`)];
  for (const current of chain) {
    const st = lstatSync(current);
    const me = uid();
    if (parentSticky && st.uid !== 0 && st.uid !== me)
      problems.push(`${current} is owned by uid ${st.uid} inside a shared sticky directory`);
    const sticky = (st.mode & S_ISVTX) !== 0 && st.isDirectory();
    if (st.mode & 0o002 && !sticky) problems.push(`${current} is world-writable`);
    if (st.mode & 0o020 && st.gid !== 0) problems.push(`${current} is writable by group ${st.gid}`);
    if (st.uid !== 0 && st.uid !== me && !parentSticky)
      problems.push(`${current} is owned by uid ${st.uid}, neither root nor you`);
    parentSticky = sticky && (st.mode & 0o002) !== 0;
  }
  return problems;
}

/** Re-check everything right before spawning; returns the path to exec or throws a refusal. */
export function verifyForSpawn(
  self: SelfImage,
  env: Record<string, string | undefined> = process.env,
): string {
  if (!self.identity) throw refused("E_SPAWN_NO_IDENTITY", `cannot identify own executable ${self.path}`);
  let now: ReturnType<typeof lstatSync>;
  try {
    now = lstatSync(self.path);
  } catch (e) {
    throw refused(
      "E_SPAWN_BINARY_GONE",
      `own executable ${self.path} is gone since start-up: ${(e as Error).message}`,
    );
  }
  if (!now.isFile() || !sameIdentity(self.identity, now))
    throw refused(
      "E_SPAWN_BINARY_CHANGED",
      `own executable ${self.path} was replaced since start-up (${describe(self.identity)} → ${describe(now)})`,
      "a binary replaced while running is not started; run the command again",
    );
  const fromArgv0 = resolveArgv0(self.argv0, env);
  if (fromArgv0 !== self.path)
    throw refused(
      "E_SPAWN_ARGV0_MISMATCH",
      `argv0 "${self.argv0}" resolves to ${fromArgv0 ?? "nothing"}, not to the running executable ${self.path}`,
    );
  const problems = pathChainProblems(self.path);
  if (problems.length)
    throw refused(
      "E_SPAWN_UNSAFE_PATH",
      `refusing to spawn ${self.path}: ${problems.join("; ")}`,
      "move the binary to a directory only root or you can write, such as /usr/local/bin",
    );
  return self.path;
}
