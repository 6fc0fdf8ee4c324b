/**
 * Fetch release files through the guarded client (src/net), allow-listed to the release host(s):
 * small texts (manifest, signatures) into memory, the tarball streamed into the private work dir with
 * its SHA-256 computed on the way, size capped by the signed manifest, progress on a TTY.
 */
import { closeSync, fsyncSync, writeSync } from "node:fs";
import { isTty, write } from "../core/output.ts";
import { Exit, TracerError } from "../errors.ts";
import { guardedFetch } from "../net/client.ts";
import { createWorkFile } from "./place.ts";
import type { ReleaseSource } from "./url.ts";

export type Fetcher = ReturnType<typeof guardedFetch>;

/** The one fetch the installer uses: https, release hosts only, the build's trust anchors. */
export function releaseFetcher(src: ReleaseSource, maxBytes: number): Fetcher {
  return guardedFetch({
    allowHosts: src.hosts,
    allowLoopback: src.allowLoopback,
    ca: src.ca,
    maxBytes,
    headersTimeoutMs: 15_000,
    bodyTimeoutMs: 10 * 60_000,
    retries: 2,
  });
}

const httpError = (url: URL, status: number) =>
  new TracerError("E_DOWNLOAD_HTTP", `${url.href} answered HTTP ${status}`, Exit.error, {
    hint: status === 404 ? "is that version released for this platform?" : "try again later",
  });

async function get(f: Fetcher, url: URL): Promise<Response> {
  const res = await f(url, { headers: { accept: "application/octet-stream" } });
  if (res.status !== 200) {
    await res.body?.cancel().catch(() => {});
    throw httpError(url, res.status);
  }
  return res;
}

/** A small file (a .minisig: its bytes, as minisign reads them; a trusted comment need not be UTF-8). */
export async function fetchBytes(f: Fetcher, url: URL, maxBytes = 256 * 1024): Promise<Uint8Array> {
  const res = await get(f, url);
  const bytes = new Uint8Array(await res.arrayBuffer());
  if (bytes.length > maxBytes)
    throw new TracerError("E_DOWNLOAD_SIZE", `${url.href} is larger than ${maxBytes} bytes`);
  return bytes;
}

/** A small UTF-8 text file (the manifest). */
export async function fetchText(f: Fetcher, url: URL, maxBytes = 256 * 1024): Promise<string> {
  const bytes = await fetchBytes(f, url, maxBytes);
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch (e) {
    throw new TracerError("E_DOWNLOAD_TEXT", `${url.href} is not UTF-8 text`, undefined, { cause: e });
  }
}

export interface Downloaded {
  path: string;
  size: number;
  sha256: string;
}

function progress(total: number, label: string) {
  if (!isTty(2)) return { tick: (_n: number) => {}, done: () => {} };
  let last = 0;
  const mb = (n: number) => (n / 1048576).toFixed(1);
  const draw = (n: number) =>
    write(2, `\r${label} ${String(Math.floor((n * 100) / total)).padStart(3)}% (${mb(n)}/${mb(total)} MB)`);
  return {
    tick: (n: number) => {
      if (n - last < total / 50 && n !== total) return;
      last = n;
      draw(n);
    },
    done: () => write(2, "\n"),
  };
}

/** Stream `url` into workDir/name; exactly `size` bytes or a clear error. */
export async function downloadTo(
  f: Fetcher,
  url: URL,
  workDir: string,
  name: string,
  size: number,
): Promise<Downloaded> {
  const res = await get(f, url);
  const fd = createWorkFile(workDir, name);
  const hasher = new Bun.CryptoHasher("sha256");
  const bar = progress(size, `downloading ${decodeURIComponent(url.pathname.split("/").at(-1) ?? name)}`);
  let got = 0;
  try {
    if (!res.body) throw new TracerError("E_DOWNLOAD_BODY", `${url.href} sent no body`);
    for await (const chunk of res.body) {
      got += chunk.length;
      if (got > size)
        throw new TracerError(
          "E_DOWNLOAD_SIZE",
          `${url.href} sent more than the ${size} bytes the signed manifest promises`,
        );
      for (let off = 0; off < chunk.length; ) off += writeSync(fd, chunk, off, chunk.length - off);
      hasher.update(chunk);
      bar.tick(got);
    }
    fsyncSync(fd);
  } catch (e) {
    if (e instanceof TracerError) throw e;
    throw new TracerError(
      "E_DOWNLOAD",
      `download of ${url.href} failed after ${got} bytes: ${(e as Error).message}`,
      Exit.error,
      {
        cause: e,
      },
    );
  } finally {
    closeSync(fd);
    if (got > 0) bar.done();
  }
  if (got !== size)
    throw new TracerError(
      "E_DOWNLOAD_TRUNCATED",
      `${url.href} ended after ${got} of ${size} bytes (truncated download)`,
      Exit.error,
      { hint: "try again; nothing was changed" },
    );
  return { path: `${workDir}/${name}`, size: got, sha256: hasher.digest("hex") };
}
