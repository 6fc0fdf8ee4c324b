/**
 * Signature failures: one code and one exit code per way a check can fail, so scripts can tell a
 * modified file from an unknown key from a garbled signature (documented in docs/SIGNING.md).
 */
import { type ExitCode, TracerError } from "../errors.ts";

export const SigExit = {
  fileModified: 10, // the file does not match an intact signature
  signatureCorrupt: 11, // the signature bytes themselves were altered
  commentTampered: 12, // the trusted comment or the global signature was altered
  wrongKeyId: 13, // the signature names another key than the one given
  unknownKey: 14, // no trusted key has the signature's key id
  revokedKey: 15, // the key is trusted but marked revoked
  legacy: 16, // a legacy (non-prehashed) "Ed" signature without opt-in
  malformed: 17, // unreadable key or signature file: lines, base64, lengths
  wrongFile: 18, // signed for another file name
  wrongVersion: 19, // signed for another version (or target)
  downgrade: 20, // the signed version is older than the running one
} as const;
export type SigExitCode = (typeof SigExit)[keyof typeof SigExit];

/** A failed signature check; `exitCode` is one of SigExit. */
export class SignatureError extends TracerError {
  constructor(code: string, message: string, exit: SigExitCode, hint?: string) {
    // the 10–20 range is specific to signature checks and extends Exit (src/errors.ts)
    super(code, message, exit as number as ExitCode, { hint });
  }
}

export const malformed = (what: string, why: string) =>
  new SignatureError("E_SIG_MALFORMED", `${what}: ${why}`, SigExit.malformed);
