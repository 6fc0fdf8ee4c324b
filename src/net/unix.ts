/**
 * The local control-channel client: HTTP over the daemon's Unix socket. Not a network request (no
 * host, no DNS); it lives in src/net so that every fetch of the program stays in this folder.
 */
import { VERSION } from "../version.ts";

export type UnixFailure = "absent" | "refused" | "timeout" | "other";

export class UnixRequestError extends Error {
  constructor(
    readonly kind: UnixFailure,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export interface UnixResponse {
  status: number;
  version: string | null;
  body: unknown;
}

function classify(e: unknown): UnixFailure {
  const code = String((e as { code?: unknown })?.code ?? "");
  const msg = String((e as Error)?.message ?? "");
  if (code === "ENOENT" || /ENOENT|No such file/i.test(msg)) return "absent";
  if (/ECONNREFUSED|ConnectionRefused|FailedToOpenSocket/i.test(code + msg)) return "refused";
  if ((e as Error)?.name === "TimeoutError" || (e as Error)?.name === "AbortError") return "timeout";
  return "other";
}

export async function unixRequest(
  socket: string,
  method: "GET" | "POST",
  path: string,
  body?: unknown,
  timeoutMs = 5000,
): Promise<UnixResponse> {
  let res: Response;
  try {
    res = await fetch(`http://tracer${path}`, {
      unix: socket,
      method,
      headers: { "content-type": "application/json", "x-tracer-version": VERSION },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (e) {
    throw new UnixRequestError(classify(e), (e as Error).message, { cause: e });
  }
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {}
  return { status: res.status, version: res.headers.get("x-tracer-version"), body: parsed };
}
