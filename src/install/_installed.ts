/** What is installed now (version from the signature beside the binary) and the running daemon. */
import { existsSync } from "node:fs";
import { paths } from "../core/dirs.ts";
import { scrubEnv } from "../core/env.ts";
import { probe, terminateDaemon } from "../daemon/lifecycle.ts";
import { TracerError } from "../errors.ts";
import { parseSignature, parseTrustedComment, readSignatureFile } from "../release/index.ts";
import { sigPath } from "./place.ts";
import { checkVersion } from "./url.ts";

/**
 * The version named by the installed signature's trusted comment, or undefined. It only feeds the
 * downgrade check and messages: whoever can rewrite /usr/local/bin has already won.
 */
export function installedVersion(): string | undefined {
  try {
    if (!existsSync(sigPath())) return undefined;
    const sig = parseSignature(readSignatureFile(sigPath()));
    return checkVersion(String(parseTrustedComment(sig.trustedComment).version));
  } catch {
    return undefined;
  }
}

async function runningDaemon() {
  try {
    const found = await probe(paths());
    return found.state === "running" ? found.info : undefined;
  } catch {
    return undefined;
  }
}

/** Stop a running daemon gracefully; returns its pid. */
export async function stopDaemon(): Promise<number | undefined> {
  if (!(await runningDaemon())) return undefined;
  return (await terminateDaemon(paths())).pid;
}

/** After a new binary is in place: restart the daemon on it only when asked; otherwise say so. */
export async function restartDaemonOn(binary: string, restart: boolean): Promise<string | undefined> {
  const info = await runningDaemon();
  if (!info) return undefined;
  if (!restart)
    return `a daemon (pid ${info.pid}, version ${info.version}) still runs the old binary; restart it with \`tracer init --force\``;
  const p = Bun.spawn([binary, "init", "--force"], {
    env: scrubEnv(),
    stdin: "ignore",
    stdout: "ignore",
    stderr: "pipe",
  });
  const [err, code] = await Promise.all([new Response(p.stderr).text(), p.exited]);
  if (code !== 0)
    throw new TracerError(
      "E_DAEMON_RESTART",
      `the new binary installed, but restarting the daemon failed: ${err.trim()}`,
    );
  return `daemon restarted on ${binary}`;
}
