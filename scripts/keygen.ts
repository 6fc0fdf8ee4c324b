#!/usr/bin/env bun
/**
 * Make a minisign-compatible key pair for signing releases.
 *   bun scripts/keygen.ts --pub keys/NAME.pub --sec ~/secure/NAME.key [--unencrypted] [--password-stdin] [--force]
 * The secret key is scrypt-encrypted with minisign's parameters unless --unencrypted; the password comes
 * from $TRACER_KEY_PASSWORD or, with --password-stdin, stdin's first line. Never commit the secret key.
 */
import { existsSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { formatPublicKey, formatSecretKey, generateKeyPair, keyIdHex } from "../src/release/index.ts";
import { PASSWORD_ENV, readPassword } from "../src/release/password.ts";

export function keygen(opts: { pub: string; sec: string; password?: string; force?: boolean }) {
  for (const f of [opts.pub, opts.sec])
    if (existsSync(f) && !opts.force) throw new Error(`${f} exists; pass --force to overwrite`);
  const key = generateKeyPair();
  writeFileSync(opts.sec, formatSecretKey(key, opts.password), { mode: 0o600 });
  writeFileSync(opts.pub, formatPublicKey(key), { mode: 0o644 });
  return keyIdHex(key.keyId);
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      pub: { type: "string" },
      sec: { type: "string" },
      unencrypted: { type: "boolean" },
      "password-stdin": { type: "boolean" },
      force: { type: "boolean" },
    },
  });
  if (!values.pub || !values.sec) throw new Error("usage: keygen.ts --pub FILE --sec FILE [--unencrypted]");
  const password = values.unencrypted ? undefined : readPassword({ stdin: values["password-stdin"] });
  if (!values.unencrypted && password === undefined)
    throw new Error(`no password: set ${PASSWORD_ENV}, pass --password-stdin, or --unencrypted`);
  const id = keygen({ pub: values.pub, sec: values.sec, password, force: values.force });
  console.error(
    `key ${id}: public ${values.pub}, secret ${values.sec}${password ? " (encrypted)" : " (unencrypted)"}`,
  );
}
