#!/usr/bin/env bun
/**
 * `tracer install` vs the shell baseline (curl + minisign -V + tar xzf + install -m755), both against
 * the same local HTTPS release host, both into /usr/local/bin inside one private mount namespace (the
 * host's is untouched), alternating, same run. The release carries a real tracer binary (~100 MB).
 * Prints the medians and the ratio (target ≤ 1.2×).
 *
 *   bun bench/install.ts [--rounds 5]
 * Needs root (unshare, mount), openssl, curl and minisign.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { formatPublicKey } from "../src/release/index.ts";
import { BIN, cleanupTemp, ensureBuilt, isolatedEnv, tempDir } from "../tests/helpers/harness.ts";
import { MountNs } from "../tests/install/_ns.ts";
import { ReleaseServer, TARGET, buildInstaller, makeRelease, newKey } from "../tests/install/_release.ts";

const { values } = parseArgs({ options: { rounds: { type: "string", default: "5" } } });
const rounds = Number(values.rounds);

await ensureBuilt();
const dir = tempDir("tracer-bench-install-");
const key = newKey();
const server = ReleaseServer.start(dir);
const binary = new Uint8Array(readFileSync(BIN));
console.error(`packing and signing a ${(binary.length / 1048576).toFixed(0)} MB release…`);
server.add(makeRelease(key, "2.0.0", binary), true);
const installer = await buildInstaller(join(dir, "build"), server, key);
writeFileSync(join(dir, "ca.pem"), server.ca);
const pub = formatPublicKey(key).split("\n")[1]!;
const name = `tracer-2.0.0-${TARGET}`;
const url = `${server.base}/download/v2.0.0`;

// The baseline does what a careful shell user would: download, check the signature, unpack, install.
const baseline = `set -e
w=$(mktemp -d); trap 'rm -rf "$w"' EXIT
curl --proto '=https' --tlsv1.2 -fsS --cacert "$1" -o "$w/a.tgz" "$2/$3.tar.gz"
curl --proto '=https' --tlsv1.2 -fsS --cacert "$1" -o "$w/a.tgz.minisig" "$2/$3.tar.gz.minisig"
minisign -Vq -m "$w/a.tgz" -x "$w/a.tgz.minisig" -P "$4"
mkdir "$w/x"; tar -xzf "$w/a.tgz" -C "$w/x" --no-same-owner tracer
install -m755 "$w/x/tracer" /usr/local/bin/tracer`;

const ns = await MountNs.create("1024m");
const env = isolatedEnv({ TMPDIR: tempDir("tracer-bench-tmp-") });
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function timed(cmd: string[]): Promise<number> {
  const t0 = performance.now();
  const r = await ns.run(cmd, env);
  const ms = performance.now() - t0;
  if (r.code !== 0) throw new Error(`${cmd.slice(0, 3).join(" ")} failed (${r.code}): ${r.stderr}`);
  return ms;
}

const ours: number[] = [];
const shell: number[] = [];
try {
  for (let i = 0; i < rounds + 1; i++) {
    const a = await timed([installer, "install", "--version", "2.0.0"]);
    const b = await timed(["sh", "-c", baseline, "sh", join(dir, "ca.pem"), url, name, pub]);
    if (i === 0) continue; // warm-up: page cache, first TLS handshake
    ours.push(a);
    shell.push(b);
    console.error(`round ${i}: tracer install ${a.toFixed(0)} ms, shell ${b.toFixed(0)} ms`);
  }
  const m = { tracer: median(ours), shell: median(shell) };
  console.log(
    `tracer install: ${m.tracer.toFixed(0)} ms, shell baseline: ${m.shell.toFixed(0)} ms (medians of ${rounds}); ` +
      `ratio ${(m.tracer / m.shell).toFixed(2)}x (target <= 1.2x)`,
  );
} finally {
  await ns.close();
  server.stop();
  cleanupTemp();
}
