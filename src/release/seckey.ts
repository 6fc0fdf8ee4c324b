/**
 * minisign secret keys: unencrypted (`minisign -G -W`) and scrypt-encrypted ones, read and written.
 * Layout: "Ed" | kdf_alg | "B2" | salt[32] | opslimit u64 | memlimit u64 | (key_id[8] | sk[64] | chk[32]),
 * the last block XORed with scrypt(password, salt) when kdf_alg is "Sc". chk = BLAKE2b-256("Ed"|id|sk).
 */
import { generateKeyPairSync, randomBytes, scryptSync } from "node:crypto";
import { decodeBase64, encodeBase64 } from "./_base64.ts";
import { blake2b, ed25519PublicOf } from "./_crypto.ts";
import { Exit, TracerError } from "../errors.ts";
import { malformed } from "./_errors.ts";
import { type PublicKey, UNTRUSTED, sameBytes } from "./format.ts";

export interface SecretKey extends PublicKey {
  secret: Uint8Array; // 64 bytes: seed ‖ public key
}

// libsodium crypto_pwhash_scryptsalsa208sha256_{OPS,MEM}LIMIT_SENSITIVE, what `minisign -G` uses
export const OPSLIMIT_SENSITIVE = 33554432;
export const MEMLIMIT_SENSITIVE = 1073741824;
const SIZE = 158;
const BLOCK = 104;
const MAX_SCRYPT_MEMORY = 2 ** 32;

/**
 * libsodium's pickparams (pwhash_scryptsalsa208sha256.c): scrypt's log2(N), r and p from the limits,
 * with its opslimit floor of 32768. N must then be at most memlimit / (r·128)/2 rounded to a power of 2.
 */
export function pickParams(opslimit: number, memlimit: number): { logN: number; r: number; p: number } {
  const ops = Math.max(opslimit, 32768);
  const r = 8;
  const logNFor = (maxN: number) => {
    let logN = 1;
    while (logN < 63 && 2 ** logN <= Math.floor(maxN / 2)) logN++;
    return logN;
  };
  if (ops < Math.floor(memlimit / 32)) return { logN: logNFor(Math.floor(ops / (r * 4))), r, p: 1 };
  const logN = logNFor(Math.floor(memlimit / (r * 128)));
  const maxrp = Math.min(Math.floor(Math.floor(ops / 4) / 2 ** logN), 0x3fffffff);
  return { logN, r, p: Math.floor(maxrp / r) };
}

function kdfStream(password: string, salt: Uint8Array, opslimit: number, memlimit: number): Uint8Array {
  const { logN, r, p } = pickParams(opslimit, memlimit);
  const mem = 128 * 2 ** logN * r * Math.max(p, 1);
  if (mem > MAX_SCRYPT_MEMORY) throw malformed("secret key", `scrypt parameters need ${mem} bytes of memory`);
  return new Uint8Array(scryptSync(password, salt, BLOCK, { N: 2 ** logN, r, p, maxmem: mem + 2 ** 25 }));
}

const checksum = (keyId: Uint8Array, secret: Uint8Array) =>
  blake2b(Uint8Array.from([0x45, 0x64, ...keyId, ...secret]), 256);

const u64 = (b: Uint8Array, at: number) => Number(Buffer.from(b).readBigUInt64LE(at));

/** Whether a secret key file needs a password. */
export function isEncrypted(text: string): boolean {
  const raw = rawSecretKey(text);
  return raw[2] !== 0 || raw[3] !== 0;
}

function rawSecretKey(text: string): Uint8Array {
  const ls = text.replace(/\r/g, "").trim().split("\n");
  if (ls.length !== 2 || !ls[0]!.startsWith(UNTRUSTED))
    throw malformed("secret key", `expected "${UNTRUSTED}…" and one base64 line`);
  const raw = decodeBase64(ls[1]!.trim(), SIZE);
  if (!raw) throw malformed("secret key", `not base64 of a ${SIZE}-byte minisign secret key`);
  if (raw[0] !== 0x45 || raw[1] !== 0x64) throw malformed("secret key", 'not an Ed25519 ("Ed") key');
  if (raw[4] !== 0x42 || raw[5] !== 0x32) throw malformed("secret key", 'checksum algorithm is not "B2"');
  return raw;
}

/** Load a secret key; `password` is required for an encrypted one (minisign's default). */
export function loadSecretKey(text: string, password?: string): SecretKey {
  const raw = rawSecretKey(text);
  const kdf = String.fromCharCode(raw[2]!, raw[3]!);
  const block = raw.slice(54, 54 + BLOCK);
  if (kdf === "Sc") {
    if (password === undefined)
      throw new TracerError(
        "E_KEY_PASSWORD",
        "the secret key is encrypted: a password is needed",
        Exit.usage,
      );
    const stream = kdfStream(password, raw.subarray(6, 38), u64(raw, 38), u64(raw, 46));
    for (let i = 0; i < BLOCK; i++) block[i]! ^= stream[i]!;
  } else if (raw[2] !== 0 || raw[3] !== 0) throw malformed("secret key", `unknown KDF "${kdf}"`);
  const keyId = block.slice(0, 8);
  const secret = block.slice(8, 72);
  const chk = block.subarray(72, 104);
  // `minisign -G -W` (0.11) leaves an unencrypted key's checksum zero; the seed check below still runs
  const unsetChk = kdf !== "Sc" && chk.every((b) => b === 0);
  if (!unsetChk && !sameBytes(checksum(keyId, secret), chk))
    throw kdf === "Sc"
      ? new TracerError("E_KEY_PASSWORD", "wrong password for the secret key", Exit.error)
      : malformed("secret key", "its checksum does not match (damaged file)");
  if (!sameBytes(ed25519PublicOf(secret.subarray(0, 32)), secret.subarray(32)))
    throw malformed("secret key", "its public half does not belong to its seed");
  return { keyId, key: secret.slice(32), secret };
}

/** A new random key pair (8-byte random key id, as minisign makes them). */
export function generateKeyPair(): SecretKey {
  const { privateKey } = generateKeyPairSync("ed25519");
  const jwk = privateKey.export({ format: "jwk" });
  const seed = Buffer.from(jwk.d!, "base64url");
  const pub = Buffer.from(jwk.x!, "base64url");
  return {
    keyId: new Uint8Array(randomBytes(8)),
    key: new Uint8Array(pub),
    secret: Uint8Array.from([...seed, ...pub]),
  };
}

/** The secret key file text; encrypted with scrypt (minisign's parameters) unless password is undefined. */
export function formatSecretKey(
  sk: SecretKey,
  password?: string,
  limits = { opslimit: OPSLIMIT_SENSITIVE, memlimit: MEMLIMIT_SENSITIVE },
): string {
  const raw = new Uint8Array(SIZE);
  const head = Buffer.from(password === undefined ? "Ed\0\0B2" : "EdScB2", "latin1");
  raw.set(head, 0);
  const salt = new Uint8Array(randomBytes(32));
  raw.set(salt, 6);
  const le = Buffer.alloc(16);
  le.writeBigUInt64LE(BigInt(limits.opslimit), 0);
  le.writeBigUInt64LE(BigInt(limits.memlimit), 8);
  raw.set(le, 38);
  const block = Uint8Array.from([...sk.keyId, ...sk.secret, ...checksum(sk.keyId, sk.secret)]);
  if (password !== undefined) {
    const stream = kdfStream(password, salt, limits.opslimit, limits.memlimit);
    for (let i = 0; i < BLOCK; i++) block[i]! ^= stream[i]!;
  }
  raw.set(block, 54);
  const what = password === undefined ? "unencrypted secret key" : "encrypted secret key";
  return `${UNTRUSTED}minisign ${what}\n${encodeBase64(raw)}\n`;
}
