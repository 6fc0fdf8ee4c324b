/**
 * Open a local HTML file in headless Chromium (Debian `chromium`) and talk to it over the DevTools
 * protocol on a loopback port: collect console errors, uncaught exceptions and error log entries
 * (failed loads, CSP violations), evaluate expressions, take a full-page screenshot.
 * Used by tests/report/html.test.ts and scripts/screenshot.ts. It lives under tests/ because it opens a
 * (loopback) WebSocket, which the static-analysis gate allows only outside the shipped tree (src/ ffi/ scripts/).
 */
import { mkdtempSync, realpathSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const CHROMIUM_FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--no-first-run",
  "--disable-sync",
  "--remote-debugging-address=127.0.0.1",
  "--remote-debugging-port=0",
];

export const chromiumPath = () => Bun.which("chromium") ?? Bun.which("chromium-browser");

type Msg = {
  id?: number;
  method?: string;
  params?: Record<string, unknown>;
  result?: unknown;
  error?: unknown;
  sessionId?: string;
};

export interface Page {
  /** console errors, uncaught exceptions and error-level log entries seen so far */
  errors: string[];
  evaluate<T>(expression: string): Promise<T>;
  screenshot(width?: number): Promise<Uint8Array>;
  close(): Promise<void>;
}

async function devtoolsUrl(stderr: ReadableStream<Uint8Array>): Promise<string> {
  const reader = stderr.getReader();
  const dec = new TextDecoder();
  let text = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`chromium exited before DevTools was up:\n${text.slice(-2000)}`);
    text += dec.decode(value);
    const m = /DevTools listening on (ws:\/\/127\.0\.0\.1:\d+\/\S+)/.exec(text);
    if (m) {
      reader.releaseLock();
      // keep draining stderr so chromium never blocks on a full pipe
      void stderr.pipeTo(new WritableStream());
      return m[1]!;
    }
  }
}

/** Load `file` (absolute path) in a fresh headless Chromium with a private profile. */
export async function openPage(file: string): Promise<Page> {
  const bin = chromiumPath();
  if (!bin) throw new Error("chromium is not installed (scripts/setup-system.sh installs it)");
  const profile = mkdtempSync(join(realpathSync(tmpdir()), "tracer-chromium-"));
  const proc = Bun.spawn([bin, ...CHROMIUM_FLAGS, `--user-data-dir=${profile}`, "about:blank"], {
    stdin: "ignore",
    stdout: "ignore",
    stderr: "pipe",
  });
  const cleanup = async () => {
    proc.kill();
    await proc.exited;
    rmSync(profile, { recursive: true, force: true });
  };
  try {
    const ws = new WebSocket(await devtoolsUrl(proc.stderr));
    await new Promise((ok, fail) => {
      ws.onopen = ok;
      ws.onerror = () => fail(new Error("cannot connect to chromium's DevTools"));
    });
    let next = 1;
    const pending = new Map<number, { ok: (v: unknown) => void; fail: (e: Error) => void }>();
    const waiters: { method: string; ok: () => void }[] = [];
    const errors: string[] = [];
    ws.onmessage = (ev) => {
      const m = JSON.parse(String(ev.data)) as Msg;
      if (m.id !== undefined) {
        const p = pending.get(m.id);
        pending.delete(m.id);
        if (m.error) p?.fail(new Error(JSON.stringify(m.error)));
        else p?.ok(m.result);
        return;
      }
      const params = (m.params ?? {}) as {
        type?: string;
        args?: unknown;
        exceptionDetails?: unknown;
        entry?: { level?: string };
      };
      if (m.method === "Runtime.consoleAPICalled" && ["error", "assert"].includes(params.type ?? ""))
        errors.push(`console.${params.type}: ${JSON.stringify(params.args)}`);
      else if (m.method === "Runtime.exceptionThrown")
        errors.push(`exception: ${JSON.stringify(params.exceptionDetails)}`);
      else if (m.method === "Log.entryAdded" && params.entry?.level === "error")
        errors.push(`log: ${JSON.stringify(params.entry)}`);
      for (const w of waiters.splice(0))
        if (w.method === m.method) w.ok();
        else waiters.push(w);
    };
    let session: string | undefined;
    const send = <T>(method: string, params: Record<string, unknown> = {}) =>
      new Promise<T>((ok, fail) => {
        const id = next++;
        pending.set(id, { ok: ok as (v: unknown) => void, fail });
        ws.send(JSON.stringify({ id, method, params, ...(session ? { sessionId: session } : {}) }));
      });
    const event = (method: string) => new Promise<void>((ok) => waiters.push({ method, ok }));

    const { targetId } = await send<{ targetId: string }>("Target.createTarget", { url: "about:blank" });
    ({ sessionId: session } = await send<{ sessionId: string }>("Target.attachToTarget", {
      targetId,
      flatten: true,
    }));
    await Promise.all([send("Runtime.enable"), send("Log.enable"), send("Page.enable")]);
    const loaded = event("Page.loadEventFired");
    await send("Page.navigate", { url: `file://${file}` });
    await loaded;
    const page: Page = {
      errors,
      async evaluate<T>(expression: string) {
        const r = await send<{ result: { value: T }; exceptionDetails?: unknown }>("Runtime.evaluate", {
          expression,
          returnByValue: true,
        });
        if (r.exceptionDetails) throw new Error(`evaluate failed: ${JSON.stringify(r.exceptionDetails)}`);
        return r.result.value;
      },
      async screenshot(width = 1024) {
        const height = await page.evaluate<number>("document.documentElement.scrollHeight");
        await send("Emulation.setDeviceMetricsOverride", {
          width,
          height,
          deviceScaleFactor: 1,
          mobile: false,
        });
        const { data } = await send<{ data: string }>("Page.captureScreenshot", { format: "png" });
        return Buffer.from(data, "base64");
      },
      async close() {
        ws.close();
        await cleanup();
      },
    };
    return page;
  } catch (e) {
    await cleanup();
    throw e;
  }
}
