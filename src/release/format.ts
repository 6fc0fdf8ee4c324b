/**
 * The minisign file formats (public key, signature), parsed strictly and written exactly as minisign
 * writes them. Secret keys live in ./seckey.ts. Layouts: /work/shared/reference/minisign-format.md.
 */
import { decodeBase64, encodeBase64 } from "./_base64.ts";
import { malformed } from "./_errors.ts";

export const UNTRUSTED = "untrusted comment: ";
export const TRUSTED = "trusted comment: ";
export const TRUSTED_COMMENT_MAX = 8192;

/** "ED" = prehashed (BLAKE2b-512 of the file), "Ed" = legacy (the raw file). */
export type SigAlg = "ED" | "Ed";

export interface PublicKey {
  keyId: Uint8Array; // 8 bytes
  key: Uint8Array; // 32-byte Ed25519 public key
}

export interface Signature {
  untrustedComment: string;
  alg: SigAlg;
  keyId: Uint8Array;
  signature: Uint8Array; // 64 bytes
  trustedComment: string;
  globalSignature: Uint8Array; // 64 bytes over signature ‖ trustedComment
}

/** minisign's key id text: the 8 bytes read as a little-endian u64, 16 uppercase hex digits. */
export const keyIdHex = (id: Uint8Array) => Buffer.from(id).reverse().toString("hex").toUpperCase();

export const sameBytes = (a: Uint8Array, b: Uint8Array) =>
  a.length === b.length && Buffer.compare(a, b) === 0;

const lines = (text: string) => text.replace(/\r/g, "").split("\n");

/** A public key file (comment line + base64) or the bare base64 line minisign's -P takes. */
export function parsePublicKey(text: string, what = "public key"): PublicKey {
  const ls = lines(text.trim());
  if (ls.length > 2) throw malformed(what, "expected at most two lines");
  if (ls.length === 2 && !ls[0]!.startsWith(UNTRUSTED))
    throw malformed(what, `the first line must start with "${UNTRUSTED}"`);
  const raw = decodeBase64(ls[ls.length - 1]!.trim(), 42);
  if (!raw) throw malformed(what, "not base64 of a 42-byte minisign public key");
  if (raw[0] !== 0x45 || raw[1] !== 0x64) throw malformed(what, 'not an Ed25519 ("Ed") key');
  return { keyId: raw.slice(2, 10), key: raw.slice(10, 42) };
}

export const publicKeyBase64 = (pk: PublicKey) =>
  encodeBase64(Buffer.concat([Buffer.from("Ed", "latin1"), pk.keyId, pk.key]));

export const formatPublicKey = (pk: PublicKey) =>
  `${UNTRUSTED}minisign public key ${keyIdHex(pk.keyId)}\n${publicKeyBase64(pk)}\n`;

/** A `.minisig` file: four lines, checked field by field. Nothing in it is trusted yet. */
export function parseSignature(text: string, what = "signature"): Signature {
  const ls = lines(text);
  while (ls.length > 4 && ls[ls.length - 1] === "") ls.pop();
  if (ls.length !== 4) throw malformed(what, `expected 4 lines, found ${ls.length}`);
  const [untrusted, sigLine, trusted, globalLine] = ls as [string, string, string, string];
  if (!untrusted.startsWith(UNTRUSTED)) throw malformed(what, `line 1 must start with "${UNTRUSTED}"`);
  const raw = decodeBase64(sigLine.trim(), 74);
  if (!raw) throw malformed(what, "line 2 is not base64 of a 74-byte signature (truncated or garbled?)");
  const alg = String.fromCharCode(raw[0]!, raw[1]!);
  if (alg !== "ED" && alg !== "Ed") throw malformed(what, `unknown signature algorithm "${alg}"`);
  if (!trusted.startsWith(TRUSTED)) throw malformed(what, `line 3 must start with "${TRUSTED}"`);
  const trustedComment = trusted.slice(TRUSTED.length);
  if (Buffer.byteLength(trustedComment) > TRUSTED_COMMENT_MAX)
    throw malformed(what, `trusted comment longer than ${TRUSTED_COMMENT_MAX} bytes`);
  const globalSignature = decodeBase64(globalLine.trim(), 64);
  if (!globalSignature)
    throw malformed(what, "line 4 is not base64 of a 64-byte global signature (truncated or garbled?)");
  return {
    untrustedComment: untrusted.slice(UNTRUSTED.length),
    alg,
    keyId: raw.slice(2, 10),
    signature: raw.slice(10, 74),
    trustedComment,
    globalSignature,
  };
}

export function formatSignature(s: Signature): string {
  const head = Buffer.concat([Buffer.from(s.alg, "latin1"), s.keyId, s.signature]);
  return `${UNTRUSTED}${s.untrustedComment}\n${encodeBase64(head)}\n${TRUSTED}${s.trustedComment}\n${encodeBase64(s.globalSignature)}\n`;
}

/** The signed fields of a trusted comment: `key:value` pairs separated by tabs (minisign's style). */
export interface CommentFields {
  timestamp?: string;
  file?: string;
  version?: string;
  target?: string;
  [key: string]: string | undefined;
}

export function parseTrustedComment(comment: string): CommentFields {
  const fields: CommentFields = {};
  for (const part of comment.split("\t")) {
    const i = part.indexOf(":");
    if (i > 0) fields[part.slice(0, i)] ??= part.slice(i + 1);
    else if (part) fields[part] ??= "";
  }
  return fields;
}

/** `timestamp:…\tfile:…\tversion:…\ttarget:…\thashed`; values may not hold tabs or newlines. */
export function formatTrustedComment(fields: CommentFields): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(fields)) {
    if (v === undefined) continue;
    if (/[\t\r\n]/.test(v) || /[\t\r\n:]/.test(k)) throw malformed("trusted comment", `bad field ${k}`);
    parts.push(v === "" ? k : `${k}:${v}`);
  }
  return parts.join("\t");
}
