/**
 * Verify a minisign signature the way minisign does, then check what the trusted comment promises.
 * Order: parse → algorithm (legacy "Ed" only with opt-in) → key id (given key / trusted / revoked) →
 * signature over BLAKE2b-512 of the data → global signature over signature ‖ trusted comment → only
 * then the comment's fields: file name, version, target. Every failure is a SignatureError with its
 * own code and exit code (./_errors.ts).
 */
import { readFileSync } from "node:fs";
import { blake2b, blake2bOfFd, blake2bOfFile, ed25519Verify } from "./_crypto.ts";
import { SigExit, SignatureError } from "./_errors.ts";
import { decodeLossless } from "../core/lossless.ts";
import { sanitize } from "../core/sanitize.ts";
import { readHead } from "./_lines.ts";
import {
  type CommentFields,
  KEY_READ_MAX,
  SIG_READ_MAX,
  type Signature,
  keyIdHex,
  parseSignature,
  parseTrustedComment,
} from "./format.ts";
import { type TrustedKey, describeKeys, findKey } from "./trusted.ts";

export type SignedData = { path: string } | { fd: number } | { bytes: Uint8Array };

export interface VerifyInput {
  /** the .minisig file's bytes (./format.ts SIG_READ_MAX are enough: readSignatureFile), or its text */
  signature: Uint8Array | string;
  data: SignedData;
  /** the file name the trusted comment must name; undefined skips the check (self-verification) */
  name?: string;
  keys: TrustedKey[];
  /** the keys were given by the caller (a mismatch is then a wrong key id, not an unknown key) */
  explicitKey?: boolean;
  allowLegacy?: boolean;
  version?: string;
  target?: string;
  /** precomputed BLAKE2b-512 of the data (prehashed signatures only) */
  hash?: Uint8Array;
}

export interface Verified {
  keyId: string;
  keyName: string;
  alg: Signature["alg"];
  trustedComment: string;
  fields: CommentFields;
}

function prehash(data: SignedData): Uint8Array {
  if ("bytes" in data) return blake2b(data.bytes);
  return "fd" in data ? blake2bOfFd(data.fd) : blake2bOfFile(data.path);
}

function rawData(data: SignedData): Uint8Array {
  if ("bytes" in data) return data.bytes;
  return new Uint8Array(readFileSync("fd" in data ? data.fd : data.path));
}

const fail = (code: string, exit: (typeof SigExit)[keyof typeof SigExit], message: string, hint?: string) =>
  new SignatureError(code, message, exit, hint);

function pickKey(sig: Signature, input: VerifyInput): TrustedKey {
  const id = keyIdHex(sig.keyId);
  const key = findKey(input.keys, sig.keyId);
  if (!key && input.explicitKey)
    throw fail(
      "E_SIG_WRONG_KEY_ID",
      SigExit.wrongKeyId,
      `signed with key ${id}, not with the given key ${describeKeys(input.keys)}`,
    );
  if (!key)
    throw fail(
      "E_SIG_UNKNOWN_KEY",
      SigExit.unknownKey,
      `signed with key ${id}, which this build does not trust (trusted: ${describeKeys(input.keys) || "none"})`,
      "check with the signer's public key: --pubkey FILE",
    );
  if (key.revoked)
    throw fail(
      "E_SIG_REVOKED",
      SigExit.revokedKey,
      `signed with key ${id} (${key.name}), which has been revoked`,
    );
  return key;
}

export function verifySignature(input: VerifyInput): Verified {
  const sig = parseSignature(input.signature);
  if (sig.alg === "Ed" && !input.allowLegacy)
    throw fail(
      "E_SIG_LEGACY",
      SigExit.legacy,
      'legacy "Ed" signature (over the raw file, not its BLAKE2b-512 hash) refused',
      "re-sign with a current minisign or tracer, or pass --allow-legacy",
    );
  const key = pickKey(sig, input);
  const message = sig.alg === "ED" ? (input.hash ?? prehash(input.data)) : rawData(input.data);
  const globalMessage = Buffer.concat([sig.signature, sig.trustedCommentBytes]);
  const globalOk = () => ed25519Verify(key.key, globalMessage, sig.globalSignature);
  if (!ed25519Verify(key.key, message, sig.signature)) {
    // Still a refusal either way; the global signature only tells which side changed.
    if (globalOk())
      throw fail(
        "E_SIG_FILE_MODIFIED",
        SigExit.fileModified,
        "the file does not match its signature: it was modified after signing",
      );
    throw fail(
      "E_SIG_CORRUPT",
      SigExit.signatureCorrupt,
      "the signature is invalid: its signature bytes were altered or it belongs to other data",
    );
  }
  if (!globalOk())
    throw fail(
      "E_SIG_COMMENT_TAMPERED",
      SigExit.commentTampered,
      "the trusted comment or the global signature was altered (global signature invalid)",
    );
  checkFields(sig.trustedCommentBytes, input);
  return {
    keyId: keyIdHex(sig.keyId),
    keyName: key.name,
    alg: sig.alg,
    trustedComment: sig.trustedComment,
    fields: parseTrustedComment(sig.trustedComment),
  };
}

/** The .minisig at `path`: only the bytes minisign would read, from a regular file. */
export const readSignatureFile = (path: string) => readHead(path, SIG_READ_MAX, "signature");

/** A public key file at `path`: only the bytes minisign would read, from a regular file. */
export const readPublicKeyFile = (path: string) => readHead(path, KEY_READ_MAX, "public key");

// Field values compared byte for byte: a comment need not be UTF-8, and two different invalid byte
// sequences must not compare equal after decoding (latin1 maps each byte to one character).
const asBytes = (s: string) => Buffer.from(s, "utf8").toString("latin1");
const shown = (s: string | undefined) =>
  s === undefined ? s : sanitize(decodeLossless(Buffer.from(s, "latin1")));

/** The comment is authentic now: a signature made for another file or version must not be replayed. */
function checkFields(comment: Uint8Array, input: VerifyInput) {
  const fields = parseTrustedComment(Buffer.from(comment).toString("latin1"));
  if (input.name !== undefined && fields.file !== asBytes(input.name))
    throw fail(
      "E_SIG_WRONG_FILE",
      SigExit.wrongFile,
      fields.file === undefined
        ? `the trusted comment names no file, so it cannot vouch for "${input.name}"`
        : `signed for file "${shown(fields.file)}", not "${sanitize(input.name)}"`,
    );
  if (input.version !== undefined && fields.version !== asBytes(input.version))
    throw fail(
      "E_SIG_WRONG_VERSION",
      SigExit.wrongVersion,
      `signed for version ${shown(fields.version) ?? "(none)"}, not ${sanitize(input.version)}`,
    );
  if (input.target !== undefined && fields.target !== asBytes(input.target))
    throw fail(
      "E_SIG_WRONG_TARGET",
      SigExit.wrongVersion,
      `signed for target ${shown(fields.target) ?? "(none)"}, not ${sanitize(input.target)}`,
    );
}
