/**
 * Before anything is downloaded: a supported platform (musl detected), root, a sane /usr/local/bin,
 * and room for the work (3× the artifact in the temp dir, the binary again in /usr/local/bin).
 */
import { existsSync, lstatSync, statfsSync } from "node:fs";
import { Exit, TracerError, refused } from "../errors.ts";
import { BIN_DIR } from "./place.ts";

export const SUPPORTED = [
  "linux-x64",
  "linux-arm64",
  "linux-x64-musl",
  "darwin-x64",
  "darwin-arm64",
] as const;
export type InstallTarget = (typeof SUPPORTED)[number];

const MUSL_LOADERS: Record<string, string> = {
  x64: "/lib/ld-musl-x86_64.so.1",
  arm64: "/lib/ld-musl-aarch64.so.1",
};
const GLIBC_LOADERS: Record<string, string> = {
  x64: "/lib64/ld-linux-x86-64.so.2",
  arm64: "/lib/ld-linux-aarch64.so.1",
};

/** The release target for this host, or a clear refusal. */
export function detectTarget(platform = process.platform, arch = process.arch): InstallTarget {
  let target = `${platform}-${arch}`;
  if (platform === "linux") {
    const musl =
      existsSync(MUSL_LOADERS[arch] ?? "/nonexistent") && !existsSync(GLIBC_LOADERS[arch] ?? "/nonexistent");
    if (musl) target += "-musl";
  }
  if (!(SUPPORTED as readonly string[]).includes(target))
    throw new TracerError(
      "E_UNSUPPORTED_PLATFORM",
      `there is no tracer release for ${target} (supported: ${SUPPORTED.join(", ")})`,
    );
  return target as InstallTarget;
}

export function requireRoot(command: string): void {
  if (process.getuid?.() === 0) return;
  throw new TracerError(
    "E_NOT_ROOT",
    `\`tracer ${command}\` writes to ${BIN_DIR} and needs root`,
    Exit.error,
    {
      hint: `run it as root: sudo tracer ${command}`,
    },
  );
}

/** /usr/local/bin must exist, be a real directory owned by root and writable by nobody else. */
export function checkBinDir(): void {
  let st: ReturnType<typeof lstatSync>;
  try {
    st = lstatSync(BIN_DIR);
  } catch {
    throw new TracerError("E_BIN_DIR", `${BIN_DIR} does not exist`, Exit.error, {
      hint: `create it: sudo install -d -m 755 ${BIN_DIR}`,
    });
  }
  const mode = (st.mode & 0o7777).toString(8);
  if (!st.isDirectory()) throw refused("E_BIN_DIR", `${BIN_DIR} is not a directory (or is a symlink)`);
  if (st.uid !== 0) throw refused("E_BIN_DIR", `${BIN_DIR} is owned by uid ${st.uid}, not root`);
  if (st.mode & 0o022)
    throw refused(
      "E_BIN_DIR",
      `${BIN_DIR} is group- or world-writable (mode ${mode}): anyone could swap the binary`,
      `fix it: sudo chmod go-w ${BIN_DIR}`,
    );
}

export const freeBytes = (dir: string) => {
  const s = statfsSync(dir);
  return s.bavail * s.bsize;
};

export function checkSpace(dir: string, need: number, what: string): void {
  const free = freeBytes(dir);
  if (free >= need) return;
  const mb = (n: number) => `${(n / 1048576).toFixed(1)} MB`;
  throw new TracerError(
    "E_NO_SPACE",
    `not enough space in ${dir} for ${what}: ${mb(free)} free, ${mb(need)} needed`,
    Exit.error,
    {
      hint: "free some space, then run the command again; nothing was changed",
    },
  );
}
