/**
 * Where releases come from. The base URL is a build-time constant (scripts/build.ts --release-base;
 * test builds set their own, with a private CA and loopback allowed); file names come only from a
 * version that passed the strict pattern below and from the detected platform. Every URL is built with
 * the URL API and checked again: same scheme and host as the base, path under the base path.
 */
import { Exit, TracerError, refused } from "../errors.ts";

declare const TRACER_RELEASE_BASE: string | undefined;
/** JSON array of extra host names a release download may be redirected to (GitHub's asset host) */
declare const TRACER_RELEASE_HOSTS: string | undefined;
/** PEM of an extra trust anchor (test builds only) */
declare const TRACER_RELEASE_CA: string | undefined;
/** "1" lets the release host resolve to loopback (test builds only) */
declare const TRACER_RELEASE_LOOPBACK: string | undefined;

export const DEFAULT_RELEASE_BASE = "https://github.com/tracer-dev/tracer/releases";
const DEFAULT_REDIRECT_HOSTS = ["release-assets.githubusercontent.com", "objects.githubusercontent.com"];

export interface ReleaseSource {
  base: URL;
  /** hosts the client may talk to: the base host first, then redirect targets */
  hosts: string[];
  ca?: string;
  allowLoopback: boolean;
}

const defined = (v: string | undefined) => (typeof v === "string" && v !== "" ? v : undefined);

export function releaseSource(): ReleaseSource {
  const raw = defined(typeof TRACER_RELEASE_BASE === "string" ? TRACER_RELEASE_BASE : undefined);
  const base = new URL(raw ?? DEFAULT_RELEASE_BASE);
  if (base.protocol !== "https:" || base.username || base.password || base.search || base.hash)
    throw new TracerError("E_RELEASE_BASE", `this build's release base URL is not a plain https URL`);
  base.pathname = base.pathname.replace(/\/+$/, "");
  const extra =
    typeof TRACER_RELEASE_HOSTS === "string" ? (JSON.parse(TRACER_RELEASE_HOSTS) as string[]) : undefined;
  return {
    base,
    hosts: [base.hostname, ...(extra ?? DEFAULT_REDIRECT_HOSTS)],
    ca: typeof TRACER_RELEASE_CA === "string" ? defined(TRACER_RELEASE_CA) : undefined,
    allowLoopback: typeof TRACER_RELEASE_LOOPBACK === "string" && TRACER_RELEASE_LOOPBACK === "1",
  };
}

/** The --define pairs for scripts/build.ts (release and test builds). */
export function releaseDefines(o: { base: string; hosts?: string[]; ca?: string; allowLoopback?: boolean }) {
  return {
    TRACER_RELEASE_BASE: JSON.stringify(o.base),
    TRACER_RELEASE_HOSTS: JSON.stringify(JSON.stringify(o.hosts ?? DEFAULT_REDIRECT_HOSTS)),
    TRACER_RELEASE_CA: JSON.stringify(o.ca ?? ""),
    TRACER_RELEASE_LOOPBACK: JSON.stringify(o.allowLoopback ? "1" : "0"),
  };
}

/** Strict semver (no leading v, no build metadata), at most 64 characters. */
const SEMVER =
  /^(0|[1-9]\d{0,8})\.(0|[1-9]\d{0,8})\.(0|[1-9]\d{0,8})(?:-(?:0|[1-9]\d{0,8}|\d*[A-Za-z-][0-9A-Za-z-]*)(?:\.(?:0|[1-9]\d{0,8}|\d*[A-Za-z-][0-9A-Za-z-]*))*)?$/;

export function checkVersion(v: string, what = "--version"): string {
  if (v.length > 64 || !SEMVER.test(v))
    throw new TracerError(
      "E_BAD_VERSION",
      `${what} "${v.slice(0, 80)}" is not a version like 1.2.3 or 1.2.3-rc.1`,
      Exit.usage,
      v.startsWith("v") ? { hint: `without the leading v: ${v.slice(1, 81)}` } : undefined,
    );
  return v;
}

const FILE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export const tarballName = (version: string, target: string) => `tracer-${version}-${target}.tar.gz`;
export const binaryName = (version: string, target: string) => `tracer-${version}-${target}`;
export const MANIFEST = "manifest.json";

/**
 * GitHub's layout: <base>/download/v<V>/<file> and <base>/latest/download/<file>. The local test
 * server serves the same paths.
 */
export function releaseUrl(src: ReleaseSource, version: string | "latest", file: string): URL {
  if (version !== "latest") checkVersion(version, "release version");
  if (!FILE.test(file)) throw refused("E_RELEASE_URL", `refusing release file name "${file.slice(0, 80)}"`);
  const url = new URL(src.base.href);
  const segments = version === "latest" ? ["latest", "download", file] : ["download", `v${version}`, file];
  url.pathname = `${src.base.pathname}/${segments.map(encodeURIComponent).join("/")}`;
  // re-validate what the URL API produced
  if (
    url.protocol !== src.base.protocol ||
    url.host !== src.base.host ||
    !url.pathname.startsWith(`${src.base.pathname}/`) ||
    url.search ||
    url.hash ||
    url.username
  )
    throw refused("E_RELEASE_URL", `refusing release URL ${url.href}: it left ${src.base.href}`);
  return url;
}
