/**
 * A private mount namespace with a fresh tmpfs over /usr/local/bin, so tests install into the real path
 * while the host's /usr/local/bin is untouched. A `sleep` holds the namespace; commands enter it with
 * nsenter, and the test reads its files through /proc/<holder>/root.
 */
import { readlinkSync } from "node:fs";
import { type Result, waitFor } from "../helpers/harness.ts";

export class MountNs {
  private constructor(
    readonly pid: number,
    private readonly holder: Bun.Subprocess,
    readonly net: boolean,
  ) {}

  /** `size` is the tmpfs size (e.g. "64m", "1600k"); `net` adds a network namespace (no network at all). */
  static async create(size = "512m", opts: { net?: boolean } = {}): Promise<MountNs> {
    if (!/^\d+[km]$/.test(size)) throw new Error(`bad tmpfs size ${size}`);
    const script = 'mount -t tmpfs -o "size=$1,mode=0755" tracer-test /usr/local/bin && exec sleep 3600';
    const flags = opts.net ? ["-m", "-n"] : ["-m"];
    const p = Bun.spawn(["unshare", ...flags, "--propagation", "private", "sh", "-c", script, "sh", size], {
      stdin: "ignore",
      stdout: "ignore",
      stderr: "pipe",
    });
    const ns = new MountNs(p.pid, p, Boolean(opts.net));
    // ready when the holder is `sleep` in a mount namespace of its own
    await waitFor(
      () => {
        if (p.exitCode !== null) throw new Error(`unshare failed (exit ${p.exitCode})`);
        try {
          return (
            readlinkSync(`/proc/${p.pid}/ns/mnt`) !== readlinkSync("/proc/self/ns/mnt") &&
            readlinkSync(`/proc/${p.pid}/exe`).endsWith("/sleep")
          );
        } catch {
          return false;
        }
      },
      10_000,
      "the mount namespace",
    );
    return ns;
  }

  /** A path as seen inside the namespace, readable from outside. */
  path(p: string): string {
    return `/proc/${this.pid}/root${p}`;
  }

  /** argv to run a command inside the namespace. */
  argv(cmd: string[]): string[] {
    return ["nsenter", "-t", String(this.pid), "-m", ...(this.net ? ["-n"] : []), "--", ...cmd];
  }

  spawn(cmd: string[], env?: Record<string, string>) {
    const hostNs = { TEST_HOST_MNTNS: readlinkSync("/proc/self/ns/mnt") };
    const base = env ?? (process.env as Record<string, string>);
    return Bun.spawn(this.argv(cmd), {
      env: { ...base, ...hostNs },
      stdin: "ignore",
      stdout: "pipe",
      stderr: "pipe",
    });
  }

  async run(cmd: string[], env?: Record<string, string>): Promise<Result> {
    const p = this.spawn(cmd, env);
    const [stdout, stderr, code] = await Promise.all([
      new Response(p.stdout).text(),
      new Response(p.stderr).text(),
      p.exited,
    ]);
    return { code, stdout, stderr };
  }

  async close() {
    this.holder.kill("SIGKILL");
    await this.holder.exited;
  }
}
