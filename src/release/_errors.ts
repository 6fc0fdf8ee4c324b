/**
 * Signature failures: one code and one exit code per way a check can fail, so scripts can tell a
 * modified file from an unknown key from a garbled signature (documented in docs/SIGNING.md).
 */
import { Exit, TracerError } from "../errors.ts";

export const SigExit = {
  fileModified: Exit.sigFileModified, // the file does not match an intact signature
  signatureCorrupt: Exit.sigCorrupt, // the signature bytes themselves were altered
  commentTampered: Exit.sigCommentTampered, // the trusted comment or the global signature was altered
  wrongKeyId: Exit.sigWrongKeyId, // the signature names another key than the one given
  unknownKey: Exit.sigUnknownKey, // no trusted key has the signature's key id
  revokedKey: Exit.sigRevokedKey, // the key is trusted but marked revoked
  legacy: Exit.sigLegacy, // a legacy (non-prehashed) "Ed" signature without opt-in
  malformed: Exit.sigMalformed, // unreadable key or signature file: lines, base64, lengths
  wrongFile: Exit.sigWrongFile, // signed for another file name
  wrongVersion: Exit.sigWrongVersion, // signed for another version (or target)
  downgrade: Exit.sigDowngrade, // the signed version is older than the running one
} as const;
export type SigExitCode = (typeof SigExit)[keyof typeof SigExit];

/** A failed signature check; `exitCode` is one of SigExit. */
export class SignatureError extends TracerError {
  constructor(code: string, message: string, exit: SigExitCode, hint?: string) {
    super(code, message, exit, { hint });
  }
}

export const malformed = (what: string, why: string) =>
  new SignatureError("E_SIG_MALFORMED", `${what}: ${why}`, SigExit.malformed);
