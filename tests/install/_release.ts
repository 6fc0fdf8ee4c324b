/**
 * A local release host for the end-to-end tests: a private CA and a server certificate for localhost
 * (openssl), a test signing key (src/release), releases laid out like scripts/release.ts writes them
 * (tarball, raw-binary and manifest signatures), served over HTTPS on a loopback port with GitHub's
 * paths, and a fault switch per path. Also builds the installer under test, trusting only that CA and
 * key, with this server as its compile-time release base.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { releaseDefines } from "../../src/install/url.ts";
import { type SecretKey, formatPublicKey, generateKeyPair, sign } from "../../src/release/index.ts";
import { fakeBinary, tgz } from "./_archives.ts";

export const TARGET = `${process.platform}-${process.arch}`;
const sha256 = (b: Uint8Array) => new Bun.CryptoHasher("sha256").update(b).digest("hex");
const blake = (b: Uint8Array) => new Bun.CryptoHasher("blake2b512").update(b).digest("hex");

function openssl(args: string[], cwd: string) {
  const r = Bun.spawnSync(["openssl", ...args], { cwd, stderr: "pipe", stdout: "pipe" });
  if (r.exitCode !== 0) throw new Error(`openssl ${args[0]} failed: ${r.stderr.toString()}`);
}

/** A CA and a localhost certificate signed by it. */
export function makeCa(dir: string) {
  const ext = join(dir, "san.ext");
  writeFileSync(ext, "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\nbasicConstraints=CA:FALSE\n");
  openssl(
    [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:P-256",
      "-nodes",
      "-keyout",
      "ca.key",
      "-out",
      "ca.pem",
      "-days",
      "2",
      "-subj",
      "/CN=tracer test CA",
    ],
    dir,
  );
  openssl(
    [
      "req",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:P-256",
      "-nodes",
      "-keyout",
      "srv.key",
      "-out",
      "srv.csr",
      "-subj",
      "/CN=localhost",
    ],
    dir,
  );
  openssl(
    [
      "x509",
      "-req",
      "-in",
      "srv.csr",
      "-CA",
      "ca.pem",
      "-CAkey",
      "ca.key",
      "-CAcreateserial",
      "-out",
      "srv.pem",
      "-days",
      "2",
      "-extfile",
      ext,
    ],
    dir,
  );
  const read = (f: string) => readFileSync(join(dir, f), "utf8");
  return { ca: read("ca.pem"), cert: read("srv.pem"), key: read("srv.key") };
}

export interface ReleaseFiles {
  version: string;
  binary: Uint8Array;
  files: Map<string, Uint8Array>;
}

export function signBytes(
  key: SecretKey,
  bytes: Uint8Array,
  fields: { file: string; version: string; target: string },
) {
  return new TextEncoder().encode(sign({ key, data: { bytes }, fields }));
}

/** One release, as scripts/release.ts lays it out (for this host's target only). */
export function makeRelease(
  key: SecretKey,
  version: string,
  binary: Uint8Array = fakeBinary(1024 * 1024),
): ReleaseFiles {
  const files = new Map<string, Uint8Array>();
  const bin = `tracer-${version}-${TARGET}`;
  const tar = `${bin}.tar.gz`;
  const tarball = tgz(
    [
      { path: "tracer", body: binary, mode: 0o755 },
      { path: "LICENSE", body: Buffer.from("Apache-2.0\n") },
    ],
    6,
  ); // zlib's default level, as scripts/release.ts packs
  files.set(tar, tarball);
  files.set(`${tar}.minisig`, signBytes(key, tarball, { file: tar, version, target: TARGET }));
  files.set(`${bin}.minisig`, signBytes(key, binary, { file: bin, version, target: TARGET }));
  const facts = (file: string, b: Uint8Array) => ({
    file,
    size: b.length,
    sha256: sha256(b),
    blake2b: blake(b),
  });
  const manifest = new TextEncoder().encode(
    `${JSON.stringify({ version, files: [{ target: TARGET, ...facts(tar, tarball), binary: facts(bin, binary) }] }, null, 2)}\n`,
  );
  files.set("manifest.json", manifest);
  files.set(
    "manifest.json.minisig",
    signBytes(key, manifest, { file: "manifest.json", version, target: "all" }),
  );
  return { version, binary, files };
}

export type Fault = { status: number } | { body: Uint8Array } | { truncate: number };

export class ReleaseServer {
  readonly releases = new Map<string, ReleaseFiles>();
  latest = "";
  /** path under /releases → fault */
  readonly faults = new Map<string, Fault>();
  readonly hits: string[] = [];
  private constructor(
    readonly server: ReturnType<typeof Bun.serve>,
    readonly ca: string,
  ) {}

  static start(dir: string): ReleaseServer {
    const tls = makeCa(dir);
    let self: ReleaseServer | undefined;
    const server = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      tls: { cert: tls.cert, key: tls.key },
      fetch: (req) => self!.answer(new URL(req.url).pathname),
    });
    self = new ReleaseServer(server, tls.ca);
    return self;
  }

  get base() {
    return `https://localhost:${this.server.port}/releases`;
  }

  add(r: ReleaseFiles, latest = false) {
    this.releases.set(r.version, r);
    if (latest || !this.latest) this.latest = r.version;
  }

  private answer(path: string): Response {
    this.hits.push(path);
    const rel = path.replace(/^\/releases\//, "");
    const fault = this.faults.get(rel);
    if (fault && "status" in fault) return new Response("injected failure", { status: fault.status });
    const m = /^(?:latest\/download|download\/v([^/]+))\/([^/]+)$/.exec(rel);
    const version = m ? (m[1] ?? this.latest) : undefined;
    const body = version ? this.releases.get(version)?.files.get(m![2]!) : undefined;
    if (fault && "body" in fault) return new Response(fault.body);
    if (!body) return new Response("not found", { status: 404 });
    if (fault && "truncate" in fault) return new Response(body.subarray(0, fault.truncate));
    return new Response(body);
  }

  stop() {
    this.server.stop(true);
  }
}

/** The installer under test: version 1.0.0, this server as its release base, trusting the test key and CA. */
export async function buildInstaller(dir: string, server: ReleaseServer, key: SecretKey, version = "1.0.0") {
  const { build } = await import("../../scripts/build.ts");
  mkdirSync(dir, { recursive: true });
  const pub = join(dir, "test.pub");
  writeFileSync(pub, formatPublicKey(key));
  return build({
    outfile: join(dir, "tracer-installer"),
    version,
    trustedKeys: [pub],
    defines: releaseDefines({ base: server.base, hosts: [], ca: server.ca, allowLoopback: true }),
  });
}

export const newKey = () => generateKeyPair();
