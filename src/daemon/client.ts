/** Typed calls to a running daemon, with the errors a user needs: not running, version mismatch. */
import { type DirPaths, paths } from "../core/dirs.ts";
import { shownPath } from "../core/trusted.ts";
import { Exit, TracerError } from "../errors.ts";
import { type UnixResponse, UnixRequestError, unixRequest } from "../net/unix.ts";
import { VERSION } from "../version.ts";
import type { DaemonInfo, RunInfo } from "./state.ts";

export const notRunning = (detail?: string) =>
  new TracerError(
    "E_NOT_RUNNING",
    `no tracer daemon is running${detail ? ` (${detail})` : ""}`,
    Exit.notRunning,
    {
      hint: "start one with `tracer init`",
    },
  );

export class DaemonClient {
  constructor(readonly p: DirPaths = paths()) {}

  private async call(
    method: "GET" | "POST",
    path: string,
    body?: unknown,
    checkVersion = true,
  ): Promise<UnixResponse> {
    let res: UnixResponse;
    if (this.p.runtimeMissing) throw notRunning();
    try {
      res = await unixRequest(this.p.socket, method, path, body);
    } catch (e) {
      if (e instanceof UnixRequestError && (e.kind === "absent" || e.kind === "refused"))
        throw notRunning(e.kind === "refused" ? "stale socket, nobody listening" : undefined);
      throw new TracerError(
        "E_DAEMON_UNREACHABLE",
        `daemon did not answer on ${shownPath(this.p.socket)}: ${(e as Error).message}`,
        Exit.error,
        { cause: e },
      );
    }
    if (checkVersion && res.version !== VERSION)
      throw new TracerError(
        "E_VERSION_MISMATCH",
        `the running daemon is version ${res.version ?? "unknown"}, this tracer is ${VERSION}`,
        Exit.versionMismatch,
        { hint: "restart it on this version with `tracer init --force`" },
      );
    if (res.status >= 400) {
      const err = (res.body as { error?: { code?: string; message?: string } })?.error;
      throw new TracerError(
        err?.code ?? "E_DAEMON",
        err?.message ?? `daemon answered HTTP ${res.status}`,
        Exit.error,
      );
    }
    return res;
  }

  async info(checkVersion = true): Promise<DaemonInfo> {
    return (await this.call("GET", "/v1/info", undefined, checkVersion)).body as DaemonInfo;
  }
  async start(name?: string, pipeline?: string): Promise<RunInfo> {
    return ((await this.call("POST", "/v1/start", { name, pipeline })).body as { run: RunInfo }).run;
  }
  async stop(): Promise<RunInfo> {
    return ((await this.call("POST", "/v1/stop", {})).body as { run: RunInfo }).run;
  }
  /** Terminate works across versions so an old daemon can always be stopped by a new client. */
  async terminate(): Promise<{ pid: number }> {
    return (await this.call("POST", "/v1/terminate", {}, false)).body as { pid: number };
  }
}
