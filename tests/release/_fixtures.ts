/** Shared fixtures for the signing tests: key pairs on disk, bit flips, and binaries built with test keys. */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { build } from "../../scripts/build.ts";
import { formatPublicKey, formatSecretKey, generateKeyPair, keyIdHex } from "../../src/release/index.ts";

export interface KeyFiles {
  pub: string;
  sec: string;
  id: string;
}

/** A fresh unencrypted key pair written as NAME.pub / NAME.key in `dir`. */
export function makeKeys(dir: string, name: string): KeyFiles {
  const k = generateKeyPair();
  const pub = join(dir, `${name}.pub`);
  const sec = join(dir, `${name}.key`);
  writeFileSync(pub, formatPublicKey(k));
  writeFileSync(sec, formatSecretKey(k), { mode: 0o600 });
  return { pub, sec, id: keyIdHex(k.keyId) };
}

/** Flip one bit of the decoded base64 on `line` (0-based) of a .minisig, at byte `at`. */
export function flipInBase64Line(sig: string, line: number, at: number): string {
  const lines = sig.split("\n");
  const raw = Buffer.from(lines[line]!, "base64");
  raw[at]! ^= 0x01;
  lines[line] = raw.toString("base64");
  return lines.join("\n");
}

/** A compiled tracer that trusts `trusted` and knows `revoked` as revoked. */
export async function buildWithKeys(outfile: string, trusted: string[], revoked: string[] = []) {
  return build({ outfile, trustedKeys: trusted, revokedKeys: revoked });
}
