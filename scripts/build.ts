#!/usr/bin/env bun
/**
 * Compile the single binary. `bun scripts/build.ts` → dist/tracer for this host;
 * `--all` → every release target into dist/tracer-<target>[.exe]; `--target T` → one of them.
 * The binary never autoloads .env or bunfig.toml from the caller's directory.
 * `--trusted-key FILE` (repeatable; default keys/*.pub) and `--revoked-key FILE` embed the release keys.
 */
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import pkg from "../package.json" with { type: "json" };
import { defaultKeyFiles, trustedKeysDefine } from "../src/release/trusted.ts";
import { releaseDefines } from "../src/install/url.ts";
import { buildNative, sourceSha256 } from "./_native.ts";

export const TARGETS = [
  "linux-x64",
  "linux-arm64",
  "linux-x64-musl",
  "darwin-x64",
  "darwin-arm64",
  "windows-x64",
] as const;
export type Target = (typeof TARGETS)[number];

const root = resolve(import.meta.dir, "..");

function gitCommit(): string {
  const r = Bun.spawnSync(["git", "rev-parse", "--short=12", "HEAD"], { cwd: root, stderr: "ignore" });
  return r.exitCode === 0 ? r.stdout.toString().trim() : "unknown";
}

export interface BuildOptions {
  target?: Target;
  outfile?: string;
  version?: string;
  /** extra --define NAME=JSON pairs (release/test builds: trusted keys, base URL) */
  defines?: Record<string, string>;
  /** public key files the binary trusts (default keys/*.pub) and ones it knows as revoked (keys/revoked/*.pub) */
  trustedKeys?: string[];
  revokedKeys?: string[];
  /** lay the bytecode out by the recorded profiles (default true; scripts/record-bytecode-order.ts) */
  bytecodeOrder?: boolean;
}

/**
 * The profiles of profile-guided bytecode layout (`--bytecode-order`), most common start first:
 * the bytecode a recorded start used is placed together at the front of the executable, so a start
 * reads and decodes less of it (`tracer run -- sleep 0.1`: ~60 fewer page faults, ~1 MB less RSS,
 * ~1.5 ms less CPU; DEVELOPERS-NOTES.md). Committed, so that a build is reproducible; a profile
 * matches functions by a hash of their syntax, and functions changed since it was recorded are placed
 * right after the recorded ones. Refresh with `bun scripts/record-bytecode-order.ts`.
 */
export const BYTECODE_ORDER = ["run", "report", "runs"].map((n) =>
  join(root, "scripts", "bytecode-order", `${n}.order`),
);

export async function build(opts: BuildOptions = {}): Promise<string> {
  const outfile = resolve(
    opts.outfile ?? join(root, "dist", opts.target ? `tracer-${opts.target}` : "tracer"),
  );
  mkdirSync(resolve(outfile, ".."), { recursive: true });
  // Built into a private directory beside it under its own name, then renamed into place: bun embeds
  // the output's name in the executable (/$bunfs/root/NAME), so a temp name with the pid in it made
  // two builds of one commit differ (an attack, 2 Dec 2026); the rename keeps readers off half a file
  const work = mkdtempSync(join(dirname(outfile), ".build-"));
  const built = join(work, basename(outfile));
  const defines: Record<string, string> = {
    TRACER_VERSION: JSON.stringify(opts.version ?? pkg.version),
    TRACER_COMMIT: JSON.stringify(gitCommit()),
    "process.env.NODE_ENV": JSON.stringify("production"),
    TRACER_TRUSTED_KEYS: trustedKeysDefine({
      trusted: opts.trustedKeys ?? defaultKeyFiles().trusted,
      revoked: opts.revokedKeys ?? (opts.trustedKeys ? [] : defaultKeyFiles().revoked),
    }),
    ...opts.defines,
  };
  // prebuilt native helpers for a build of this host's own binary (other targets compile with TinyCC)
  const host = `${process.platform}-${process.arch}`;
  const native = !opts.target || opts.target === host ? buildNative(join(root, "ffi")) : undefined;
  if (native) defines.TRACER_NATIVE = JSON.stringify(JSON.stringify(native));
  // (the flag takes a comma-separated list: a checkout whose path holds a comma builds without them)
  const orders = opts.bytecodeOrder === false ? [] : BYTECODE_ORDER.filter((f) => existsSync(f));
  const order = orders.length && !orders.some((f) => f.includes(",")) ? orders.join(",") : undefined;
  const cmd = [
    process.execPath,
    "build",
    "--compile",
    "--minify",
    "--bytecode",
    ...(order ? [`--bytecode-order=${order}`] : []),
    "--format=esm",
    "--splitting",
    "--no-compile-autoload-dotenv",
    "--no-compile-autoload-bunfig",
    ...(opts.target ? [`--target=bun-${opts.target}`] : []),
    ...Object.entries(defines).flatMap(([k, v]) => ["--define", `${k}=${v}`]),
    join(root, "src", "main.ts"),
    "--outfile",
    built,
  ];
  const p = Bun.spawn(cmd, {
    cwd: root,
    stdout: "pipe",
    stderr: "pipe",
    env: { ...process.env, BUN_OPTIONS: "" },
  });
  const [out, err, code] = await Promise.all([
    new Response(p.stdout).text(),
    new Response(p.stderr).text(),
    p.exited,
  ]);
  if (code !== 0) {
    rmSync(work, { recursive: true, force: true });
    throw new Error(`bun build failed for ${opts.target ?? "host"} (exit ${code}):\n${out}${err}`);
  }
  // The binary embeds ffi/*.c as text and uses the prebuilt object for a helper without hashing its
  // text at run time (ffi/_cc.ts): each source must still be the one the object was compiled from.
  for (const [name, sha] of Object.entries(native?.sha256 ?? {}))
    if (sourceSha256(join(root, "ffi", name)) !== sha) {
      rmSync(work, { recursive: true, force: true });
      throw new Error(`ffi/${name} changed while the binary was being built: build again`);
    }
  // bun appends .exe for Windows; publish the result atomically so concurrent readers never see half a file
  const exe = opts.target === "windows-x64";
  const final = exe && !outfile.endsWith(".exe") ? `${outfile}.exe` : outfile;
  renameSync(exe && !built.endsWith(".exe") ? `${built}.exe` : built, final);
  rmSync(work, { recursive: true, force: true });
  return final;
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      all: { type: "boolean" },
      target: { type: "string" },
      outfile: { type: "string" },
      version: { type: "string" },
      "trusted-key": { type: "string", multiple: true },
      "revoked-key": { type: "string", multiple: true },
      "release-base": { type: "string" },
    },
  });
  const targets: (Target | undefined)[] = values.all ? [...TARGETS] : [values.target as Target | undefined];
  for (const t of targets) {
    if (t && !TARGETS.includes(t))
      throw new Error(`unknown target ${t}; expected one of ${TARGETS.join(", ")}`);
    const t0 = performance.now();
    const out = await build({
      target: t,
      outfile: values.all ? undefined : values.outfile,
      version: values.version,
      trustedKeys: values["trusted-key"],
      revokedKeys: values["revoked-key"],
      // the one place `tracer install/update` downloads from (src/install/url.ts)
      defines: values["release-base"] ? releaseDefines({ base: values["release-base"] }) : undefined,
    });
    console.error(`built ${out} in ${Math.round(performance.now() - t0)} ms`);
  }
}
