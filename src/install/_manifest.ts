/**
 * The signed release manifest (scripts/release.ts writes it): which version `latest` is, and for each
 * target the tarball's name, size and hashes and the raw binary's. Nothing in it is used before its
 * signature (file "manifest.json", the version asked for) is verified; then its shape is checked.
 */
import { refused } from "../errors.ts";
import { trustedKeys, verifySignature } from "../release/index.ts";
import { type Fetcher, fetchBytes, fetchText } from "./download.ts";
import { MANIFEST, type ReleaseSource, binaryName, checkVersion, releaseUrl, tarballName } from "./url.ts";

export interface FileFacts {
  file: string;
  size: number;
  sha256: string;
  blake2b: string;
}
export interface TargetEntry extends FileFacts {
  target: string;
  binary: FileFacts;
}
export interface Release {
  version: string;
  entry: TargetEntry;
}

const MAX_ARTIFACT = 512 * 1024 * 1024;
const HEX = (n: number) => new RegExp(`^[0-9a-f]{${n}}$`);

const bad = (why: string) => refused("E_MANIFEST", `the signed release manifest is not usable: ${why}`);

function checkFacts(f: unknown, file: string, what: string): FileFacts {
  const o = f as Partial<FileFacts> | undefined;
  if (!o || o.file !== file) throw bad(`${what} should be ${file}, not ${JSON.stringify(o?.file)}`);
  if (!Number.isSafeInteger(o.size) || o.size! <= 0 || o.size! > MAX_ARTIFACT)
    throw bad(`${what} has a bad size`);
  if (!HEX(64).test(String(o.sha256)) || !HEX(128).test(String(o.blake2b)))
    throw bad(`${what} has bad hashes`);
  return { file, size: o.size!, sha256: o.sha256!, blake2b: o.blake2b! };
}

/** Parse the verified manifest text and pick this target's entry. */
export function pickEntry(text: string, signedVersion: string, target: string): Release {
  let m: { version?: unknown; files?: unknown };
  try {
    m = JSON.parse(text);
  } catch {
    throw bad("it is not JSON");
  }
  const version = checkVersion(String(m.version), "the manifest's version");
  if (version !== signedVersion) throw bad(`it says ${version} but its signature says ${signedVersion}`);
  if (!Array.isArray(m.files)) throw bad("no file list");
  const found = m.files.filter((f: { target?: unknown }) => f?.target === target);
  if (found.length !== 1) throw bad(`${found.length} entries for ${target}`);
  const e = found[0] as TargetEntry;
  return {
    version,
    entry: {
      target,
      ...checkFacts(e, tarballName(version, target), "the tarball"),
      binary: checkFacts(e.binary, binaryName(version, target), "the binary"),
    },
  };
}

/** Download and verify the manifest for `version` (or the latest channel). */
export async function fetchRelease(
  src: ReleaseSource,
  f: Fetcher,
  version: string | undefined,
  target: string,
): Promise<Release> {
  const v = version ?? "latest";
  const [text, sig] = await Promise.all([
    fetchText(f, releaseUrl(src, v, MANIFEST), 1024 * 1024),
    fetchBytes(f, releaseUrl(src, v, `${MANIFEST}.minisig`)),
  ]);
  const verified = verifySignature({
    signature: sig,
    data: { bytes: new TextEncoder().encode(text) },
    name: MANIFEST,
    keys: trustedKeys(),
    version,
  });
  const signedVersion = checkVersion(String(verified.fields.version), "the manifest signature's version");
  return pickEntry(text, signedVersion, target);
}
