/**
 * The crypto primitives, all native: libsodium (when installed, as minisign uses it) for BLAKE2b and
 * Ed25519 verification, else node:crypto Ed25519 and Bun.CryptoHasher BLAKE2b. Raw 32/64-byte minisign
 * keys are wrapped as DER for node:crypto. node:crypto is required lazily: loading it costs ~3 ms of a
 * `tracer verify` that needs only libsodium.
 */
import type * as NodeCrypto from "node:crypto";
import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { sodiumBlake2b, sodiumBlake2bOfFd, sodiumEd25519Verify } from "../../ffi/sodium.ts";

const nodeCrypto = (): typeof NodeCrypto => require("node:crypto");

// DER headers of an Ed25519 PKCS#8 private key and SPKI public key (RFC 8410)
const PKCS8 = Buffer.from("302e020100300506032b657004220420", "hex");
const SPKI = Buffer.from("302a300506032b6570032100", "hex");

/** minisign's 64-byte secret key is seed(32) ‖ public key(32). */
export function ed25519Sign(secretKey: Uint8Array, message: Uint8Array): Uint8Array {
  const { createPrivateKey, sign } = nodeCrypto();
  const key = createPrivateKey({
    key: Buffer.concat([PKCS8, secretKey.subarray(0, 32)]),
    format: "der",
    type: "pkcs8",
  });
  return new Uint8Array(sign(null, message, key));
}

export function ed25519Verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  const bySodium = sodiumEd25519Verify(publicKey, message, signature);
  if (bySodium !== undefined) return bySodium;
  const { createPublicKey, verify } = nodeCrypto();
  const key = createPublicKey({ key: Buffer.concat([SPKI, publicKey]), format: "der", type: "spki" });
  try {
    return verify(null, message, key, signature);
  } catch {
    return false;
  }
}

/** The public half of a seed, for checking that a decrypted secret key is consistent. */
export function ed25519PublicOf(seed: Uint8Array): Uint8Array {
  const { createPrivateKey, createPublicKey } = nodeCrypto();
  const priv = createPrivateKey({ key: Buffer.concat([PKCS8, seed]), format: "der", type: "pkcs8" });
  const der = createPublicKey(priv).export({ format: "der", type: "spki" });
  return new Uint8Array(der.subarray(SPKI.length));
}

// pread into one reused 1 MiB buffer. Not Bun.mmap: it opens the file O_RDWR (needs write access, and
// the mapping makes exec of that file fail with ETXTBSY while it lives).
const CHUNK = 1 << 20;

/** BLAKE2b-512 of everything in `fd`, read with pread from offset 0 (the fd's own offset is untouched). */
export function blake2bOfFd(fd: number): Uint8Array {
  // Fastest first: libsodium over a read-only mapping, libsodium streaming, then Bun's own hasher
  // (libsodium's BLAKE2b is ~1.7× faster than Bun's on a 100 MB binary; the mapping saves the copy).
  const mapped = sodiumBlake2bOfFd(fd, fstatSync(fd).size);
  if (mapped) return mapped;
  const hasher = sodiumBlake2b(64) ?? new Bun.CryptoHasher("blake2b512");
  const buf = Buffer.allocUnsafe(CHUNK);
  for (let pos = 0; ; ) {
    const n = readSync(fd, buf, 0, CHUNK, pos);
    if (n <= 0) break;
    hasher.update(buf.subarray(0, n));
    pos += n;
  }
  return new Uint8Array(hasher.digest() as Uint8Array);
}

export function blake2bOfFile(path: string): Uint8Array {
  const fd = openSync(path, "r");
  try {
    return blake2bOfFd(fd);
  } finally {
    closeSync(fd);
  }
}

export function blake2b(bytes: Uint8Array, bits: 256 | 512 = 512): Uint8Array {
  return new Uint8Array(
    new Bun.CryptoHasher(bits === 512 ? "blake2b512" : "blake2b256").update(bytes).digest(),
  );
}
