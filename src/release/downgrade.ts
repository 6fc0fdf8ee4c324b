/**
 * Downgrade protection for the installer: a signed release older than the running binary is refused
 * unless explicitly allowed (the signature proves which version it is; this decides if we want it).
 */
import { VERSION } from "../version.ts";
import { SigExit, SignatureError } from "./_errors.ts";

const parse = (v: string) => {
  const m = /^v?(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?(?:\+.*)?$/.exec(v.trim());
  if (!m) throw new SignatureError("E_SIG_BAD_VERSION", `"${v}" is not a version`, SigExit.wrongVersion);
  return { core: [Number(m[1]), Number(m[2]), Number(m[3])], pre: m[4]?.split(".") };
};

function comparePre(a: string[] | undefined, b: string[] | undefined): number {
  if (!a || !b) return a ? -1 : b ? 1 : 0; // a pre-release sorts before its release
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a[i];
    const y = b[i];
    if (x === undefined || y === undefined) return x === undefined ? -1 : 1;
    const nx = /^\d+$/.test(x) ? Number(x) : Number.NaN;
    const ny = /^\d+$/.test(y) ? Number(y) : Number.NaN;
    if (!Number.isNaN(nx) && !Number.isNaN(ny)) {
      if (nx !== ny) return nx < ny ? -1 : 1;
    } else if (x !== y)
      return Number.isNaN(nx) === Number.isNaN(ny) ? (x < y ? -1 : 1) : Number.isNaN(nx) ? 1 : -1;
  }
  return 0;
}

/** Semantic-version order: -1, 0 or 1. */
export function compareVersions(a: string, b: string): number {
  const x = parse(a);
  const y = parse(b);
  for (let i = 0; i < 3; i++) if (x.core[i] !== y.core[i]) return x.core[i]! < y.core[i]! ? -1 : 1;
  return comparePre(x.pre, y.pre);
}

/** Throw when `signedVersion` is older than `running` (same version is a reinstall, allowed). */
export function checkNotDowngrade(
  signedVersion: string | undefined,
  opts: { running?: string; allowDowngrade?: boolean } = {},
): void {
  const running = (opts.running ?? VERSION).replace(/-dev$/, "");
  if (signedVersion === undefined)
    throw new SignatureError("E_SIG_NO_VERSION", "the signature names no version", SigExit.wrongVersion);
  if (opts.allowDowngrade || compareVersions(signedVersion, running) >= 0) return;
  throw new SignatureError(
    "E_SIG_DOWNGRADE",
    `signed version ${signedVersion} is older than the running ${running}: refusing to downgrade`,
    SigExit.downgrade,
    "pass --allow-downgrade to install an older release on purpose",
  );
}
