#!/usr/bin/env bun
/**
 * Signature verification of the ~100 MB binary: `tracer verify` beside Debian's `minisign -V`, same
 * signature, same key, same run, interleaved. Prints p50/min and the ratio tracer/minisign (target ≤ 1.0×).
 * Usage: bun bench/verify.ts [runs=15] [file=dist/tracer] (both copied to a temp dir first)
 */
import { copyFileSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join, resolve } from "node:path";
import { formatPublicKey, generateKeyPair, sign } from "../src/release/index.ts";

const runs = Number(process.argv[2] ?? 15);
const root = resolve(import.meta.dir, "..");
const dir = mkdtempSync(join(tmpdir(), "tracer-bench-verify-"));
// private copies: a concurrent rebuild of dist/tracer must not change the file between runs
const bin = join(dir, "tracer");
copyFileSync(join(root, "dist", "tracer"), bin);
const file = process.argv[3] ? join(dir, basename(process.argv[3])) : bin;
if (process.argv[3]) copyFileSync(resolve(process.argv[3]), file);

function once(cmd: string[]): number {
  const t0 = Bun.nanoseconds();
  const r = Bun.spawnSync(cmd, { stdout: "ignore", stderr: "pipe", env: { ...process.env, NO_COLOR: "1" } });
  const ms = (Bun.nanoseconds() - t0) / 1e6;
  if (r.exitCode !== 0) throw new Error(`${cmd.join(" ")} exited ${r.exitCode}: ${r.stderr}`);
  return ms;
}
const p50 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

try {
  const key = generateKeyPair();
  const pub = join(dir, "bench.pub");
  const sig = join(dir, "bench.minisig");
  writeFileSync(pub, formatPublicKey(key));
  writeFileSync(sig, sign({ key, data: { path: file }, fields: { file: basename(file) } }));
  const cmds: Record<string, string[]> = {
    "minisign -V": ["minisign", "-q", "-Vm", file, "-x", sig, "-p", pub],
    "tracer verify": [bin, "verify", file, "--sig", sig, "--pubkey", pub],
  };
  const times: Record<string, number[]> = { "minisign -V": [], "tracer verify": [] };
  for (const c of Object.values(cmds)) once(c); // warm the page cache
  for (let i = 0; i < runs; i++) for (const [name, c] of Object.entries(cmds)) times[name]!.push(once(c));
  console.log(
    `file: ${file} (${(statSync(file).size / 1e6).toFixed(1)} MB), runs: ${runs} each, interleaved`,
  );
  console.log(`${"command".padEnd(16)} ${"p50 ms".padStart(8)} ${"min ms".padStart(8)}`);
  for (const [name, xs] of Object.entries(times))
    console.log(
      `${name.padEnd(16)} ${p50(xs).toFixed(1).padStart(8)} ${Math.min(...xs)
        .toFixed(1)
        .padStart(8)}`,
    );
  // The fixed cost apart from hashing: the same check of a 1-byte file
  const tiny = join(dir, "tiny");
  writeFileSync(tiny, "x");
  const tinySig = join(dir, "tiny.minisig");
  writeFileSync(tinySig, sign({ key, data: { path: tiny }, fields: { file: "tiny" } }));
  const start: Record<string, number[]> = { "minisign -V": [], "tracer verify": [] };
  for (let i = 0; i < runs; i++) {
    start["minisign -V"]!.push(once(["minisign", "-q", "-Vm", tiny, "-x", tinySig, "-p", pub]));
    start["tracer verify"]!.push(once([bin, "verify", tiny, "--sig", tinySig, "--pubkey", pub]));
  }
  console.log(
    `start-up (1-byte file, p50): tracer ${p50(start["tracer verify"]!).toFixed(1)} ms, minisign ${p50(start["minisign -V"]!).toFixed(1)} ms`,
  );
  const ratio = p50(times["tracer verify"]!) / p50(times["minisign -V"]!);
  console.log(
    `ratio tracer/minisign (p50): ${ratio.toFixed(2)}x → target ≤ 1.0x ${ratio <= 1 ? "met" : "NOT met"}`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
