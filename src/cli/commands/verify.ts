import { accessSync, constants } from "node:fs";
import { basename } from "node:path";
import { defineCommand } from "../_define.ts";
import { printJson, say } from "../../core/output.ts";
import { sanitize } from "../../core/sanitize.ts";
import { Exit, TracerError } from "../../errors.ts";
// The release modules one by one, not release/index.ts: signing and secret keys (scrypt, node:crypto)
// stay out of a command that only verifies.
import { type SelfState, selfState } from "../../release/selfcheck.ts";
import { type TrustedKey, givenKey, givenKeyString, trustedKeys } from "../../release/trusted.ts";
import {
  type Verified,
  readPublicKeyFile,
  readSignatureFile,
  verifySignature,
} from "../../release/verify.ts";
import { captureSelf } from "../../spawn/self.ts";
import { jsonFlag } from "../_shared.ts";

/** Read a signature or key file: at most the bytes minisign reads, from a regular file. */
const read = (path: string, what: string, reader: (path: string) => Uint8Array) => {
  try {
    return reader(path);
  } catch (e) {
    if (e instanceof TracerError) throw e;
    throw new TracerError(
      "E_VERIFY_READ",
      `cannot read ${what} ${sanitize(path)}: ${sanitize((e as Error).message)}`,
      Exit.error,
      {
        cause: e,
      },
    );
  }
};

function keysFrom(args: { pubkey?: string; "pubkey-string"?: string }): {
  keys: TrustedKey[];
  explicit: boolean;
} {
  if (args.pubkey && args["pubkey-string"])
    throw new TracerError("E_USAGE", "give --pubkey or --pubkey-string, not both", Exit.usage);
  if (args.pubkey)
    return {
      keys: [givenKey(read(args.pubkey, "public key", readPublicKeyFile), args.pubkey)],
      explicit: true,
    };
  if (args["pubkey-string"])
    return { keys: [givenKeyString(args["pubkey-string"], "--pubkey-string")], explicit: true };
  return { keys: trustedKeys(), explicit: false };
}

/** Every value shown comes from the signature (attacker-chosen until verified, signer-chosen after): escaped. */
function printVerified(v: Verified, file: string) {
  const when =
    v.fields.timestamp && /^\d+$/.test(v.fields.timestamp) ? Number(v.fields.timestamp) : undefined;
  const rows: [string, string | undefined][] = [
    ["key", `${v.keyId} (${v.keyName})`],
    ["file", v.fields.file],
    ["version", v.fields.version],
    ["target", v.fields.target],
    ["signed at", when === undefined ? v.fields.timestamp : new Date(when * 1000).toISOString()],
    ["comment", v.trustedComment.replace(/\t/g, "  ")],
  ];
  say(`signature valid: ${sanitize(file)}`);
  for (const [k, val] of rows) if (val !== undefined) say(`  ${k.padEnd(10)} ${sanitize(val)}`);
}

const verifiedJson = (v: Verified) => ({
  keyId: v.keyId,
  keyName: v.keyName,
  algorithm: v.alg,
  trustedComment: v.trustedComment,
  fields: v.fields,
});

function reportSelf(s: SelfState, json: boolean) {
  if (json)
    return void printJson({
      state: s.state,
      binary: s.binary,
      signature: s.signature,
      ...(s.state === "signed" ? verifiedJson(s.verified) : {}),
    });
  if (s.state === "unsigned") {
    say(`unsigned build: no signature installed at ${sanitize(s.signature)}`);
    return;
  }
  say(`signed & valid: ${sanitize(s.binary)} matches ${sanitize(s.signature)}`);
  printVerified(s.verified, s.binary);
}

export default defineCommand({
  meta: { name: "verify", description: "Check a file's minisign signature (or this binary's, with --self)" },
  args: {
    file: { type: "positional", required: false, description: "File to check", valueHint: "FILE" },
    sig: { type: "string", description: "Signature file (default FILE.minisig)", valueHint: "FILE.minisig" },
    pubkey: {
      type: "string",
      description: "Check against this public key file instead",
      valueHint: "KEYFILE",
    },
    "pubkey-string": {
      type: "string",
      description: "Check against this base64 public key",
      valueHint: "B64",
    },
    self: { type: "boolean", description: "Check the running binary against its installed signature" },
    "expect-version": { type: "string", description: "Require this signed version", valueHint: "VERSION" },
    "expect-target": { type: "string", description: "Require this signed target", valueHint: "TARGET" },
    "allow-legacy": { type: "boolean", description: 'Accept legacy non-prehashed "Ed" signatures' },
    ...jsonFlag,
  },
  run({ args }) {
    if (args.self) {
      if (args.file) throw new TracerError("E_USAGE", "--self takes no FILE", Exit.usage);
      return reportSelf(selfState({ path: captureSelf().path }), Boolean(args.json));
    }
    if (!args.file) throw new TracerError("E_USAGE", "give a FILE to verify, or --self", Exit.usage);
    const { keys, explicit } = keysFrom(args);
    const sigPath = args.sig ?? `${args.file}.minisig`;
    try {
      accessSync(args.file, constants.R_OK);
    } catch (e) {
      throw new TracerError(
        "E_VERIFY_READ",
        `cannot read ${sanitize(args.file)}: ${sanitize((e as Error).message)}`,
        Exit.error,
      );
    }
    const v = verifySignature({
      signature: read(sigPath, "signature", readSignatureFile),
      data: { path: args.file },
      name: basename(args.file),
      keys,
      explicitKey: explicit,
      allowLegacy: args["allow-legacy"],
      version: args["expect-version"],
      target: args["expect-target"],
    });
    if (args.json)
      return void printJson({ ok: true, file: args.file, signature: sigPath, ...verifiedJson(v) });
    printVerified(v, args.file);
  },
});
