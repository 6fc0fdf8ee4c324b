/**
 * The /v1 JSON API over the control socket. Every request is validated; anything malformed gets a 4xx
 * JSON error and the daemon keeps serving. Bodies are capped (MAX_BODY) before they are read.
 */
import { NAME_RULE, isValidName } from "../core/names.ts";
import { VERSION } from "../version.ts";
import { log } from "./log.ts";
import type { DaemonState } from "./state.ts";

export const MAX_BODY = 16 * 1024;

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json", "x-tracer-version": VERSION },
  });
export const fail = (status: number, code: string, message: string) =>
  json(status, { error: { code, message } });

async function readBody(req: Request): Promise<Record<string, unknown> | Response> {
  const declared = Number(req.headers.get("content-length") ?? "0");
  if (!Number.isFinite(declared) || declared > MAX_BODY)
    return fail(413, "E_TOO_LARGE", `body over ${MAX_BODY} bytes`);
  const text = await req.text();
  if (text.length > MAX_BODY) return fail(413, "E_TOO_LARGE", `body over ${MAX_BODY} bytes`);
  if (text.trim() === "") return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return fail(400, "E_BAD_JSON", "body is not valid JSON");
  }
  if (typeof value !== "object" || value === null || Array.isArray(value))
    return fail(400, "E_BAD_BODY", "body must be a JSON object");
  return value as Record<string, unknown>;
}

function optionalName(body: Record<string, unknown>, key: string): string | undefined | Response {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "string" || !isValidName(v))
    return fail(400, "E_BAD_FIELD", `"${key}" must be ${NAME_RULE}`);
  return v;
}

export interface ApiHooks {
  terminate: () => void;
}

export async function handle(req: Request, state: DaemonState, hooks: ApiHooks): Promise<Response> {
  const { pathname } = new URL(req.url);
  const route = `${req.method} ${pathname}`;
  switch (route) {
    case "GET /v1/info":
      return json(200, state.info());
    case "POST /v1/start": {
      const body = await readBody(req);
      if (body instanceof Response) return body;
      const name = optionalName(body, "name");
      const pipeline = optionalName(body, "pipeline");
      if (name instanceof Response) return name;
      if (pipeline instanceof Response) return pipeline;
      if (state.run)
        return fail(409, "E_RUN_ACTIVE", `run "${state.run.name}" is already active; stop it first`);
      const run = await state.start(name, pipeline);
      log("info", "run started", { run: run.id, name: run.name, pipeline: run.pipeline });
      return json(201, { run });
    }
    case "POST /v1/stop": {
      const body = await readBody(req);
      if (body instanceof Response) return body;
      const run = await state.stop();
      if (!run) return fail(409, "E_NO_RUN", "no run is active");
      log("info", "run stopped", { run: run.id, name: run.name });
      return json(200, { run });
    }
    case "POST /v1/terminate": {
      const body = await readBody(req);
      if (body instanceof Response) return body;
      hooks.terminate();
      return json(202, { terminating: true, pid: process.pid });
    }
  }
  if (["/v1/info", "/v1/start", "/v1/stop", "/v1/terminate"].includes(pathname))
    return fail(405, "E_METHOD", `${req.method} is not allowed on ${pathname}`);
  return fail(404, "E_NOT_FOUND", `no such endpoint: ${pathname}`);
}
