/**
 * Make minisign signatures: prehashed "ED" by default (what `minisign -V` checks), legacy "Ed" only when
 * asked. The trusted comment carries timestamp, file name, version and target so that a verifier can
 * refuse a signature replayed for another file or release.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { basename } from "node:path";
import { blake2b, blake2bOfFd, blake2bOfFile, ed25519Sign } from "./_crypto.ts";
import {
  type CommentFields,
  formatSignature,
  formatTrustedComment,
  keyIdHex,
  TRUSTED_COMMENT_MAX,
} from "./format.ts";
import { malformed } from "./_errors.ts";
import type { SecretKey } from "./seckey.ts";
import type { SignedData } from "./verify.ts";

export interface SignRequest {
  key: SecretKey;
  data: SignedData;
  /** file is required; timestamp defaults to now */
  fields: CommentFields & { file: string };
  untrustedComment?: string;
  legacy?: boolean;
}

export function trustedCommentFor(fields: SignRequest["fields"]): string {
  const { timestamp, file, version, target, ...rest } = fields;
  return formatTrustedComment({
    timestamp: timestamp ?? String(Math.floor(Date.now() / 1000)),
    file,
    version,
    target,
    ...rest,
    hashed: "",
  });
}

/** The .minisig text for `data`. */
export function sign(req: SignRequest): string {
  const trustedComment = trustedCommentFor(req.fields);
  if (Buffer.byteLength(trustedComment) > TRUSTED_COMMENT_MAX) throw malformed("trusted comment", "too long");
  const d = req.data;
  let message: Uint8Array;
  if (req.legacy) message = "bytes" in d ? d.bytes : new Uint8Array(readFileSync("fd" in d ? d.fd : d.path));
  else message = "bytes" in d ? blake2b(d.bytes) : "fd" in d ? blake2bOfFd(d.fd) : blake2bOfFile(d.path);
  const signature = ed25519Sign(req.key.secret, message);
  const globalSignature = ed25519Sign(
    req.key.secret,
    Uint8Array.from([...signature, ...Buffer.from(trustedComment)]),
  );
  return formatSignature({
    untrustedComment: req.untrustedComment ?? `signature from tracer secret key ${keyIdHex(req.key.keyId)}`,
    alg: req.legacy ? "Ed" : "ED",
    keyId: req.key.keyId,
    signature,
    trustedComment,
    globalSignature,
  });
}

/** Sign a file in place: writes `<path>.minisig` and returns its path. */
export function signFile(
  path: string,
  key: SecretKey,
  fields: Omit<CommentFields, "file"> & { file?: string } = {},
): string {
  const text = sign({ key, data: { path }, fields: { ...fields, file: fields.file ?? basename(path) } });
  const out = `${path}.minisig`;
  writeFileSync(out, text, { mode: 0o644 });
  return out;
}
