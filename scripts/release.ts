#!/usr/bin/env bun
/**
 * Build, pack and sign a release.
 *   bun scripts/release.ts --key SECRET.key [--all | --target T ...] [--out DIR] [--version V]
 *                          [--trusted-key PUB ...] [--password-stdin]
 *   bun scripts/release.ts --key SECRET.key --sign FILE [--sign FILE ...]      (sign files only)
 * For each target: dist/release/tracer-<version>-<os>-<arch>[-musl][.exe] (raw binary) and
 * tracer-<version>-<os>-<arch>[-musl].tar.gz (binary, LICENSE, README.md); then manifest.json
 * (version, per-target file, size, sha256, blake2b). Every tarball, raw binary and the manifest gets a
 * .minisig whose trusted comment names file, version and target. The password of an encrypted key comes
 * from $TRACER_KEY_PASSWORD or stdin (--password-stdin). The real release key is kept offline.
 */
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { basename, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import pkg from "../package.json" with { type: "json" };
import {
  type SecretKey,
  blake2bOfFile,
  formatPublicKey,
  givenKey,
  isEncrypted,
  loadSecretKey,
  readPassword,
  signFile,
  verifySignature,
} from "../src/release/index.ts";
import { TARGETS, type Target, build } from "./build.ts";

const root = resolve(import.meta.dir, "..");

export interface ManifestEntry {
  target: string;
  file: string;
  size: number;
  sha256: string;
  blake2b: string;
  binary: { file: string; size: number; sha256: string; blake2b: string };
}

export interface Manifest {
  version: string;
  files: ManifestEntry[];
}

const sha256 = (path: string) => new Bun.CryptoHasher("sha256").update(readFileSync(path)).digest("hex");

function describe(path: string) {
  return {
    file: basename(path),
    size: statSync(path).size,
    sha256: sha256(path),
    blake2b: Buffer.from(blake2bOfFile(path)).toString("hex"),
  };
}

/** Sign `path` and check the result at once with the key's public half (a bad key never ships). */
export function signChecked(path: string, key: SecretKey, fields: { version?: string; target?: string }) {
  const sig = signFile(path, key, fields);
  verifySignature({
    signature: readFileSync(sig, "utf8"),
    data: { path },
    name: basename(path),
    keys: [givenKey(formatPublicKey(key), "release key")],
    explicitKey: true,
    version: fields.version,
    target: fields.target,
  });
  return sig;
}

async function pack(binary: string, target: Target, version: string, out: string): Promise<string> {
  const tar = await import("tar");
  const stage = mkdtempSync(join(tmpdir(), "tracer-pack-"));
  try {
    const exe = target.startsWith("windows") ? "tracer.exe" : "tracer";
    copyFileSync(binary, join(stage, exe));
    const files = [exe];
    for (const f of ["LICENSE", "README.md"]) {
      if (!existsSync(join(root, f))) {
        console.error(`warning: ${f} is missing from the repository; not packed`);
        continue;
      }
      copyFileSync(join(root, f), join(stage, f));
      files.push(f);
    }
    const file = join(out, `tracer-${version}-${target}.tar.gz`);
    await tar.create({ gzip: true, file, cwd: stage, portable: true, noMtime: true }, files);
    return file;
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
}

export async function release(opts: {
  key: SecretKey;
  targets: Target[];
  out: string;
  version?: string;
  trustedKeys?: string[];
}): Promise<Manifest> {
  const version = opts.version ?? pkg.version;
  mkdirSync(opts.out, { recursive: true });
  const files: ManifestEntry[] = [];
  for (const target of opts.targets) {
    const t0 = performance.now();
    const raw = await build({
      target,
      version,
      outfile: join(opts.out, `tracer-${version}-${target}`),
      trustedKeys: opts.trustedKeys,
    });
    const tarball = await pack(raw, target, version, opts.out);
    signChecked(raw, opts.key, { version, target });
    signChecked(tarball, opts.key, { version, target });
    files.push({ target, ...describe(tarball), binary: describe(raw) });
    console.error(`${target}: ${basename(tarball)} signed (${Math.round(performance.now() - t0)} ms)`);
  }
  const manifest: Manifest = { version, files };
  const path = join(opts.out, "manifest.json");
  writeFileSync(path, `${JSON.stringify(manifest, null, 2)}\n`);
  signChecked(path, opts.key, { version, target: "all" });
  const installer = join(opts.out, "install.sh");
  writeFileSync(
    installer,
    pinInstallScript(readFileSync(join(import.meta.dir, "install.sh"), "utf8"), manifest),
    {
      mode: 0o755,
    },
  );
  signChecked(installer, opts.key, { version, target: "all" });
  return manifest;
}

/**
 * The bootstrap installer of this release: its version and the SHA-256 of each target's tarball pinned
 * in. A target not in this release gets an empty pin, which install.sh refuses as unsupported.
 */
export function pinInstallScript(template: string, manifest: Manifest): string {
  const pinned = template
    .replaceAll("@VERSION@", manifest.version)
    .replace(
      /@SHA256_([a-z0-9-]+)@/g,
      (_, t: string) => manifest.files.find((f) => f.target === t)?.sha256 ?? "",
    );
  if (/@[A-Z0-9_a-z-]+@/.test(pinned)) throw new Error("install.sh still has an unfilled @PLACEHOLDER@");
  return pinned;
}

function loadKey(file: string, passwordStdin: boolean): SecretKey {
  const text = readFileSync(file, "utf8");
  return loadSecretKey(text, isEncrypted(text) ? readPassword({ stdin: passwordStdin }) : undefined);
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      key: { type: "string" },
      all: { type: "boolean" },
      target: { type: "string", multiple: true },
      out: { type: "string" },
      version: { type: "string" },
      "trusted-key": { type: "string", multiple: true },
      "password-stdin": { type: "boolean" },
      sign: { type: "string", multiple: true },
    },
  });
  if (!values.key)
    throw new Error("usage: release.ts --key SECRET.key [--all | --target T] (see the header)");
  const key = loadKey(values.key, Boolean(values["password-stdin"]));
  if (values.sign) {
    for (const f of values.sign) console.error(`signed ${signChecked(f, key, { version: values.version })}`);
  } else {
    const targets = (values.target ?? [...TARGETS]) as Target[];
    for (const t of targets) if (!TARGETS.includes(t)) throw new Error(`unknown target ${t}`);
    const out = resolve(values.out ?? join(root, "dist", "release"));
    const m = await release({
      key,
      targets,
      out,
      version: values.version,
      trustedKeys: values["trusted-key"],
    });
    console.error(`release ${m.version}: ${m.files.length} targets in ${out}, manifest.json signed`);
  }
}
