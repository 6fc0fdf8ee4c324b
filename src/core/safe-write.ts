/**
 * Write a file a user named (`report --output`) without following a symlink or writing through a hard
 * link: the data goes to a fresh temp file (O_CREAT|O_EXCL|O_NOFOLLOW, mode 0666 less the umask) in the
 * target's directory, reached through that directory's fd, which is then renamed over the target; a
 * file replaced keeps its permission bits (a report made private with chmod 600 stays so). An
 * existing target must be a regular file the user owns: a symlink, a device, a FIFO or another user's
 * file (e.g. a hard link planted in a shared directory) is refused with E_OUTPUT_UNSAFE (exit 3). A
 * directory is a usage slip, not a risk (E_OUTPUT_IS_DIR, exit 2); a missing directory is said so.
 */
import {
  closeSync,
  constants,
  fchmodSync,
  fsyncSync,
  lstatSync,
  openSync,
  renameSync,
  rmSync,
  writeSync,
} from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { Exit, TracerError, errnoOf, refused } from "../errors.ts";
import { O_CLOEXEC } from "./fsflags.ts";

const LINUX = process.platform === "linux";
const O_PATH = LINUX ? 0o10000000 : constants.O_RDONLY;

export function writeReplacing(target: string, data: string | Uint8Array): void {
  const full = resolve(target);
  const dir = dirname(full);
  const name = basename(full);
  const fail = (e: unknown) =>
    new TracerError("E_WRITE", `cannot write ${target}: ${(e as Error).message}`, Exit.error, { cause: e });
  let dirFd: number;
  try {
    dirFd = openSync(dir, O_PATH | constants.O_DIRECTORY | O_CLOEXEC);
  } catch (e) {
    const code = errnoOf(e);
    if (code === "ENOENT" || code === "ENOTDIR")
      throw new TracerError(
        "E_WRITE",
        `cannot write ${target}: the directory ${dir} does not exist`,
        Exit.error,
        {
          cause: e,
          hint: "create it first, or name a file in an existing directory",
        },
      );
    throw fail(e);
  }
  const at = (n: string) => (LINUX ? `/proc/self/fd/${dirFd}/${n}` : join(dir, n));
  let tmp: string | undefined;
  try {
    let st: ReturnType<typeof lstatSync> | undefined;
    try {
      st = lstatSync(at(name));
    } catch (e) {
      if (errnoOf(e) !== "ENOENT") throw fail(e);
    }
    const unsafe = (why: string) =>
      refused("E_OUTPUT_UNSAFE", `refusing to write ${target}: ${why}`, "remove it or choose another file");
    if (st?.isSymbolicLink()) throw unsafe("it is a symbolic link");
    if (st?.isDirectory())
      throw new TracerError("E_OUTPUT_IS_DIR", `cannot write ${target}: it is a directory`, Exit.usage, {
        hint: `name a file, e.g. ${join(target, "report")}`,
      });
    if (st && !st.isFile()) throw unsafe("it is not a regular file");
    const uid = process.getuid?.() ?? -1;
    if (st && st.uid !== uid) throw unsafe(`it belongs to uid ${st.uid}, not to you`);
    tmp = `.${name.slice(0, 200)}.${Bun.randomUUIDv7("hex").slice(-12)}.tmp`;
    let fd: number;
    try {
      fd = openSync(
        at(tmp),
        constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW | O_CLOEXEC,
        0o666,
      );
    } catch (e) {
      tmp = undefined;
      throw fail(e);
    }
    try {
      // the file it replaces: its permission bits, not the umask's (rename would drop them)
      if (st) fchmodSync(fd, Number(st.mode) & 0o777);
      const bytes = typeof data === "string" ? Buffer.from(data) : data;
      for (let off = 0; off < bytes.length; ) off += writeSync(fd, bytes, off, bytes.length - off);
      fsyncSync(fd);
    } catch (e) {
      throw fail(e);
    } finally {
      closeSync(fd);
    }
    try {
      renameSync(at(tmp), at(name));
    } catch (e) {
      throw fail(e);
    }
    tmp = undefined;
  } finally {
    if (tmp) rmSync(at(tmp), { force: true });
    closeSync(dirFd);
  }
}
