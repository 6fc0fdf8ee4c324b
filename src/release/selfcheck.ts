/**
 * Self-verification: when a signature is installed beside the binary (`<realpath>.minisig`, put there
 * by the installer), the image about to be exec'd must match it. The fd spawn path hashes the very
 * descriptor it will exec (pread from offset 0); the verified path hashes the file it re-checked.
 * Without an installed signature the build is reported as unsigned (development builds) and allowed.
 */
import { closeSync, existsSync, openSync, realpathSync } from "node:fs";
import { refused } from "../errors.ts";
import { VERSION } from "../version.ts";
import { SignatureError } from "./_errors.ts";
import { trustedKeys } from "./trusted.ts";
import { type Verified, readSignatureFile, verifySignature } from "./verify.ts";

export type SelfState =
  | { state: "signed"; binary: string; signature: string; verified: Verified }
  | { state: "unsigned"; binary: string; signature: string };

export const signaturePathFor = (binary: string) => `${realpathSync(binary)}.minisig`;

/**
 * Check the image of `path` (or the open descriptor `fd` of it) against the installed signature.
 * Throws a SignatureError when a signature is installed and does not vouch for these exact bytes.
 */
export function selfState(ref: { path: string; fd?: number }): SelfState {
  const binary = realpathSync(ref.path);
  const signature = `${binary}.minisig`;
  if (!existsSync(signature)) return { state: "unsigned", binary, signature };
  const text = readSignatureFile(signature);
  const fd = ref.fd ?? openSync(binary, "r");
  try {
    // the hash decides; the comment's version must be ours so an older signed image is not passed off
    const verified = verifySignature({
      signature: text,
      data: { fd },
      keys: trustedKeys(),
      version: VERSION,
    });
    return { state: "signed", binary, signature, verified };
  } finally {
    if (ref.fd === undefined) closeSync(fd);
  }
}

/** The one call the spawn paths make right before exec: allow signed-and-valid or unsigned, refuse the rest. */
export function verifyImageBeforeExec(ref: { path: string; fd?: number }): SelfState {
  try {
    return selfState(ref);
  } catch (e) {
    if (!(e instanceof SignatureError)) throw e;
    throw refused(
      "E_SELF_SIGNATURE",
      `refusing to start ${ref.path}: it does not match the signature installed beside it (${e.message})`,
      `reinstall tracer, or remove ${ref.path}.minisig if you built this binary yourself`,
    );
  }
}
