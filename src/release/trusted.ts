/**
 * The public keys this binary trusts, embedded at build time (scripts/build.ts `--trusted-key FILE`,
 * default keys/*.pub; `--revoked-key FILE`, default keys/revoked/*.pub). Several keys allow rotation; a
 * revoked key stays embedded so that its signatures are refused by name rather than as unknown.
 */
import { readFileSync, readdirSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import {
  type PublicKey,
  keyIdHex,
  parsePublicKey,
  parsePublicKeyString,
  publicKeyBase64,
  sameBytes,
} from "./format.ts";

declare const TRACER_TRUSTED_KEYS: string | undefined;

export interface TrustedKey extends PublicKey {
  name: string;
  revoked: boolean;
}

interface Embedded {
  name: string;
  key: string; // base64 public key line
  revoked: boolean;
}

const KEYS_DIR = resolve(import.meta.dir, "..", "..", "keys");

const pubFiles = (dir: string) => {
  try {
    return readdirSync(dir)
      .filter((f) => f.endsWith(".pub"))
      .sort()
      .map((f) => join(dir, f));
  } catch {
    return [];
  }
};

/** The project's default key files: keys/*.pub trusted, keys/revoked/*.pub revoked. */
export const defaultKeyFiles = (dir = KEYS_DIR) => ({
  trusted: pubFiles(dir),
  revoked: pubFiles(join(dir, "revoked")),
});

const entry = (file: string, revoked: boolean): Embedded => ({
  name: basename(file, ".pub"),
  key: publicKeyBase64(parsePublicKey(readFileSync(file), file)),
  revoked,
});

/** The --define value scripts/build.ts embeds: a JSON string literal holding the key list. */
export function trustedKeysDefine(files: { trusted: string[]; revoked?: string[] }): string {
  const list = [
    ...files.trusted.map((f) => entry(f, false)),
    ...(files.revoked ?? []).map((f) => entry(f, true)),
  ];
  return JSON.stringify(JSON.stringify(list));
}

let cache: TrustedKey[] | undefined;

/** The embedded keys; running from source, the repository's keys/ directory. */
export function trustedKeys(): TrustedKey[] {
  if (cache) return cache;
  const list: Embedded[] =
    typeof TRACER_TRUSTED_KEYS === "string"
      ? JSON.parse(TRACER_TRUSTED_KEYS)
      : JSON.parse(JSON.parse(trustedKeysDefine(defaultKeyFiles())));
  cache = list.map((e) => ({
    ...parsePublicKeyString(e.key, `embedded key ${e.name}`),
    name: e.name,
    revoked: e.revoked,
  }));
  return cache;
}

/** A key file's contents given on the command line: trusted for this one check, never revoked. */
export const givenKey = (file: string | Uint8Array, name: string): TrustedKey => ({
  ...parsePublicKey(file, name),
  name,
  revoked: false,
});

/** A bare base64 key given on the command line (minisign -P). */
export const givenKeyString = (b64: string, name: string): TrustedKey => ({
  ...parsePublicKeyString(b64, name),
  name,
  revoked: false,
});

/** A revoked entry wins over a trusted one with the same key id. */
export const findKey = (keys: TrustedKey[], keyId: Uint8Array) =>
  keys.find((k) => k.revoked && sameBytes(k.keyId, keyId)) ?? keys.find((k) => sameBytes(k.keyId, keyId));

export const describeKeys = (keys: TrustedKey[]) =>
  keys.map((k) => `${keyIdHex(k.keyId)}${k.revoked ? " (revoked)" : ""}`).join(", ");
