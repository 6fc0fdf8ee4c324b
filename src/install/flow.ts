/**
 * install / update / rollback / uninstall, step by step. Every check comes before the one rename that
 * commits: preflight → signed manifest (or the --archive's signature) → downgrade check → space →
 * download (size and SHA-256 from the manifest) → tarball signature → extraction → the binary's own
 * signature → place. Any failure leaves the installed binary as it was; the work dir is always removed.
 */
import { existsSync, lstatSync, statSync } from "node:fs";
import { basename, dirname, resolve } from "node:path";
import { Exit, TracerError, refused } from "../errors.ts";
import { checkNotDowngrade, readSignatureFile, trustedKeys, verifySignature } from "../release/index.ts";
import { VERSION } from "../version.ts";
import { hashFileMulti } from "./_hash.ts";
import { type TargetEntry, fetchRelease } from "./_manifest.ts";
import { installedVersion, restartDaemonOn, stopDaemon } from "./_installed.ts";
import { downloadTo, fetchBytes, releaseFetcher } from "./download.ts";
import { extractRelease } from "./extract.ts";
import {
  binPath,
  copyIntoWork,
  makeWorkDir,
  makeWorkSubdir,
  placeBinary,
  previousPath,
  purgeDirs,
  removeInstalled,
  removeWorkDir,
  swapPrevious,
  withBinDirLock,
} from "./place.ts";
import { type InstallTarget, checkBinDir, checkSpace, detectTarget, requireRoot } from "./preflight.ts";
import { binaryName, checkVersion, releaseSource, releaseUrl, tarballName } from "./url.ts";

export interface InstallOptions {
  command: "install" | "update";
  version?: string;
  /** air-gapped: FILE.tar.gz with FILE.tar.gz.minisig and tracer-<V>-<target>.minisig beside it */
  archive?: string;
  allowDowngrade?: boolean;
  restartDaemon?: boolean;
}

export interface InstallResult {
  status: "installed" | "up-to-date";
  version: string;
  target: InstallTarget;
  path: string;
  previousVersion?: string;
  daemon?: string;
}

/** What a source hands to the common tail: a verified tarball and the binary's signature file. */
interface Fetched {
  version: string;
  tarball: string;
  binarySignature: Uint8Array | string;
  entry?: TargetEntry;
}

const MiB = 1024 * 1024;

export async function installRelease(o: InstallOptions): Promise<InstallResult> {
  const asked = o.version === undefined ? undefined : checkVersion(o.version);
  requireRoot(o.command);
  checkBinDir();
  const target = detectTarget();
  return withBinDirLock(async () => {
    const installed = installedVersion();
    const work = makeWorkDir();
    try {
      const guard = (version: string) => {
        checkNotDowngrade(version, { running: installed ?? VERSION, allowDowngrade: o.allowDowngrade });
        return o.command === "update" && asked === undefined && installed === version;
      };
      const got = o.archive
        ? fromArchive(o.archive, work, target, asked)
        : await fromNetwork(work, target, asked, guard);
      if (!got) return { status: "up-to-date" as const, version: installed!, target, path: binPath() };
      if (o.archive) guard(got.version);
      const source = await verifiedBinary(got, work, target);
      await placeBinary({ ...source, signature: got.binarySignature });
      const daemon = await restartDaemonOn(binPath(), Boolean(o.restartDaemon));
      return {
        status: "installed" as const,
        version: got.version,
        target,
        path: binPath(),
        previousVersion: installed,
        daemon,
      };
    } finally {
      removeWorkDir(work);
    }
  });
}

async function fromNetwork(
  work: string,
  target: InstallTarget,
  asked: string | undefined,
  upToDate: (version: string) => boolean,
): Promise<Fetched | undefined> {
  const src = releaseSource();
  const small = releaseFetcher(src, MiB);
  const { version, entry } = await fetchRelease(src, small, asked, target);
  if (upToDate(version)) return undefined;
  checkSpace(dirname(work), 3 * entry.size, `the ${entry.file} download`);
  checkSpace(dirname(binPath()), entry.binary.size, "the new binary");
  const big = releaseFetcher(src, entry.size);
  const dl = await downloadTo(big, releaseUrl(src, version, entry.file), work, "release.tar.gz", entry.size);
  if (dl.sha256 !== entry.sha256)
    throw refused(
      "E_SHA256",
      `${entry.file} does not match the signed manifest (SHA-256 ${dl.sha256.slice(0, 16)}…)`,
    );
  const [tarSig, binarySignature] = await Promise.all([
    fetchBytes(small, releaseUrl(src, version, `${entry.file}.minisig`)),
    fetchBytes(small, releaseUrl(src, version, `${entry.binary.file}.minisig`)),
  ]);
  verifySignature({
    signature: tarSig,
    data: { path: dl.path },
    name: entry.file,
    keys: trustedKeys(),
    version,
    target,
  });
  return { version, tarball: dl.path, binarySignature, entry };
}

function fromArchive(
  archive: string,
  work: string,
  target: InstallTarget,
  asked: string | undefined,
): Fetched {
  const file = resolve(archive);
  const need = (p: string, what: string) => {
    if (!existsSync(p) || !lstatSync(p).isFile())
      throw new TracerError("E_ARCHIVE_MISSING", `${what} ${p} is missing`, Exit.usage, {
        hint: `copy tracer-<version>-${target}.tar.gz, its .minisig and tracer-<version>-${target}.minisig from the release`,
      });
    return p;
  };
  need(file, "archive");
  checkSpace(dirname(work), 3 * statSync(file).size, `the ${basename(file)} archive`);
  const tarSig = readSignatureFile(need(`${file}.minisig`, "signature"));
  const tarball = copyIntoWork(file, work, "release.tar.gz");
  const v = verifySignature({
    signature: tarSig,
    data: { path: tarball },
    keys: trustedKeys(),
    version: asked,
    target,
  });
  const version = checkVersion(String(v.fields.version), "the archive signature's version");
  if (v.fields.file !== tarballName(version, target))
    throw refused(
      "E_ARCHIVE_NAME",
      `the archive is signed as ${v.fields.file}, not ${tarballName(version, target)}`,
    );
  const binSigPath = need(
    `${dirname(file)}/${binaryName(version, target)}.minisig`,
    "the binary's signature",
  );
  return { version, tarball, binarySignature: readSignatureFile(binSigPath) };
}

/** Extract, then check the binary against the manifest and its own signature. */
async function verifiedBinary(got: Fetched, work: string, target: InstallTarget) {
  const x = makeWorkSubdir(work, "x");
  const maxBytes = got.entry ? got.entry.binary.size + MiB : 512 * MiB;
  const { binary } = await extractRelease(got.tarball, x, { maxBytes });
  const h = hashFileMulti(binary, ["sha256", "blake2b512"]);
  if (got.entry && (h.sha256 !== got.entry.binary.sha256 || h.blake2b512 !== got.entry.binary.blake2b))
    throw refused("E_SHA256", "the extracted binary does not match the signed manifest");
  verifySignature({
    signature: got.binarySignature,
    data: { path: binary },
    hash: Buffer.from(h.blake2b512, "hex"),
    name: binaryName(got.version, target),
    keys: trustedKeys(),
    version: got.version,
    target,
  });
  return { source: binary, sha256: h.sha256 };
}

/** Put `.tracer.previous` back, after checking it against its own signature. */
export async function rollbackRelease(restartDaemon = false): Promise<{ version: string; daemon?: string }> {
  requireRoot("update --rollback");
  checkBinDir();
  const target = detectTarget();
  const version = await withBinDirLock(() => {
    const prev = previousPath();
    if (!existsSync(prev) || !existsSync(`${prev}.minisig`))
      throw new TracerError("E_NO_PREVIOUS", `there is no previous signed binary to roll back to (${prev})`);
    const v = verifySignature({
      signature: readSignatureFile(`${prev}.minisig`),
      data: { path: prev },
      keys: trustedKeys(),
      target,
    });
    swapPrevious();
    return String(v.fields.version);
  });
  return { version, daemon: await restartDaemonOn(binPath(), restartDaemon) };
}

export async function uninstallTracer(o: { purge?: boolean }) {
  requireRoot("uninstall");
  checkBinDir();
  const stopped = await stopDaemon();
  const removed = await withBinDirLock(() => removeInstalled());
  const purged = o.purge ? purgeDirs() : [];
  return { removed, stoppedDaemon: stopped, purged };
}
