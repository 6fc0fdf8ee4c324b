/**
 * The minisign file formats (public key, signature), parsed strictly and written exactly as minisign
 * writes them. Secret keys live in ./seckey.ts. Layouts: /work/shared/reference/minisign-format.md.
 */
import { decodeLossless } from "../core/lossless.ts";
import { decodeMinisignBase64, encodeBase64 } from "./_base64.ts";
import { malformed } from "./_errors.ts";
import { LineReader, trim } from "./_lines.ts";

export const UNTRUSTED = "untrusted comment: ";
export const TRUSTED = "trusted comment: ";

// minisign's buffers (src/minisign.h, base64.h): what fgets may read per line, terminator included.
const COMMENT_LINE = 1024 - 1;
const SIG_LINE = 100 + 1 + 2 - 1; // base64 of 74 bytes, its NUL, 2 for CR LF
const TRUSTED_LINE = 8192 - 1;
const GLOBAL_LINE = 88 + 1 + 2 - 1; // base64 of 64 bytes
const KEY_LINE = 56 + 1 + 2 - 1; // base64 of 42 bytes
/** The most bytes of a .minisig minisign ever reads (4 lines); the rest of a file is never looked at. */
export const SIG_READ_MAX = COMMENT_LINE + SIG_LINE + TRUSTED_LINE + GLOBAL_LINE;
/** The most bytes of a public key file minisign ever reads (2 lines). */
export const KEY_READ_MAX = COMMENT_LINE + KEY_LINE;
/** The longest trusted comment: its line (prefix, comment, LF) must fit fgets' 8,191 bytes. */
export const TRUSTED_COMMENT_MAX = TRUSTED_LINE - TRUSTED.length - 1;

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
  /** the comment as text (invalid UTF-8 shown as U+FFFD); `trustedCommentBytes` is what was signed */
  trustedComment: string;
  trustedCommentBytes: Uint8Array;
  globalSignature: Uint8Array; // 64 bytes over signature ‖ trustedCommentBytes
}

/** minisign's key id text: the 8 bytes read as a little-endian u64, 16 uppercase hex digits. */
export const keyIdHex = (id: Uint8Array) => Buffer.from(id).reverse().toString("hex").toUpperCase();

export const sameBytes = (a: Uint8Array, b: Uint8Array) =>
  a.length === b.length && Buffer.compare(a, b) === 0;

const bytesOf = (input: string | Uint8Array) => (typeof input === "string" ? Buffer.from(input) : input);
const startsWith = (b: Uint8Array, prefix: string) =>
  b.length >= prefix.length && Buffer.from(b.subarray(0, prefix.length)).toString("latin1") === prefix;
/** comments need not be UTF-8: invalid bytes kept as U+DC80–U+DCFF (src/core/lossless.ts), shown as `\xNN` */
const utf8 = (b: Uint8Array) => decodeLossless(b);

/** minisign -P: the bare base64 of "Ed" ‖ key id ‖ key, nothing around it (no whitespace, no newline). */
export function parsePublicKeyString(text: string, what = "public key"): PublicKey {
  return keyFromBase64(Buffer.from(text), what);
}

function keyFromBase64(b64: Uint8Array, what: string): PublicKey {
  const raw = decodeMinisignBase64(b64, 42);
  if (!raw) throw malformed(what, "not base64 of a 42-byte minisign public key");
  if (raw[0] !== 0x45 || raw[1] !== 0x64) throw malformed(what, 'not an Ed25519 ("Ed") key');
  return { keyId: raw.slice(2, 10), key: raw.slice(10, 42) };
}

/**
 * A public key file as minisign -p reads it: a first line it does not look at (normally the untrusted
 * comment), then the base64 key line; anything after the key line (CR, more lines) is ignored.
 */
export function parsePublicKey(input: string | Uint8Array, what = "public key"): PublicKey {
  const r = new LineReader(bytesOf(input).subarray(0, KEY_READ_MAX));
  if (!r.next(COMMENT_LINE + 1)) throw malformed(what, "empty file");
  const line = r.next(KEY_LINE + 1);
  if (!line) throw malformed(what, "no key line: a key file is a comment line, then the base64 key");
  return keyFromBase64(trim(line).text, what);
}

export const publicKeyBase64 = (pk: PublicKey) =>
  encodeBase64(Buffer.concat([Buffer.from("Ed", "latin1"), pk.keyId, pk.key]));

export const formatPublicKey = (pk: PublicKey) =>
  `${UNTRUSTED}minisign public key ${keyIdHex(pk.keyId)}\n${publicKeyBase64(pk)}\n`;

/**
 * A `.minisig` as minisign -V reads it (./_lines.ts): four fgets lines; lines 1–3 must end in LF within
 * their buffer with no NUL before it; each line counts only up to its first CR; line 4 (the global
 * signature) needs no LF, and anything after it is ignored. Nothing in it is trusted yet.
 */
export function parseSignature(input: string | Uint8Array, what = "signature"): Signature {
  const r = new LineReader(bytesOf(input).subarray(0, SIG_READ_MAX));
  const l1 = r.next(COMMENT_LINE + 1);
  if (!l1) throw malformed(what, "empty file");
  const untrusted = trim(l1);
  if (!untrusted.newline) throw malformed(what, "line 1 is too long, holds a NUL, or has no end");
  if (!startsWith(untrusted.text, UNTRUSTED)) throw malformed(what, `line 1 must start with "${UNTRUSTED}"`);
  const l2 = r.next(SIG_LINE + 1);
  if (!l2) throw malformed(what, "no signature line");
  const sigLine = trim(l2);
  if (!sigLine.newline) throw malformed(what, "line 2 is too long, holds a NUL, or has no end");
  const l3 = r.next(TRUSTED_LINE + 1);
  if (!l3) throw malformed(what, "no trusted comment");
  if (!startsWith(l3, TRUSTED)) throw malformed(what, `line 3 must start with "${TRUSTED}"`);
  const trusted = trim(l3.subarray(TRUSTED.length));
  if (!trusted.newline)
    throw malformed(
      what,
      `the trusted comment is longer than ${TRUSTED_COMMENT_MAX} bytes, holds a NUL, or has no end`,
    );
  const l4 = r.next(GLOBAL_LINE + 1);
  if (!l4) throw malformed(what, "no global signature line");
  const raw = decodeMinisignBase64(sigLine.text, 74);
  if (!raw) throw malformed(what, "line 2 is not base64 of a 74-byte signature (truncated or garbled?)");
  const alg = String.fromCharCode(raw[0]!, raw[1]!);
  if (alg !== "ED" && alg !== "Ed") throw malformed(what, `unknown signature algorithm "${alg}"`);
  const globalSignature = decodeMinisignBase64(trim(l4).text, 64);
  if (!globalSignature)
    throw malformed(what, "line 4 is not base64 of a 64-byte global signature (truncated or garbled?)");
  return {
    untrustedComment: utf8(untrusted.text.subarray(UNTRUSTED.length)),
    alg,
    keyId: raw.slice(2, 10),
    signature: raw.slice(10, 74),
    trustedComment: utf8(trusted.text),
    trustedCommentBytes: trusted.text.slice(),
    globalSignature,
  };
}

/** The .minisig text; `trustedComment` must be what is signed (one line, no CR, LF or NUL). */
export function formatSignature(s: Omit<Signature, "trustedCommentBytes">): string {
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

/** `timestamp:…\tfile:…\tversion:…\ttarget:…\thashed`; values may not hold tabs, newlines or NUL. */
export function formatTrustedComment(fields: CommentFields): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(fields)) {
    if (v === undefined) continue;
    if (/[\t\r\n\0]/.test(v) || /[\t\r\n\0:]/.test(k)) throw malformed("trusted comment", `bad field ${k}`);
    parts.push(v === "" ? k : `${k}:${v}`);
  }
  return parts.join("\t");
}
