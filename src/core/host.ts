/**
 * node:os's hostname, release, homedir and tmpdir without importing node:os on Linux (~0.35 ms of
 * `tracer run`'s start-up, issue 15): the kernel's own files for the first two, the environment for
 * the others, node:os (loaded on first use) where these are missing.
 */
import { readFileSync } from "../../ffi/fs.ts";

type NodeOs = typeof import("node:os");
const os = (): NodeOs => require("node:os") as NodeOs;

const kernelFile = (name: string): string | undefined => {
  if (process.platform !== "linux") return undefined;
  try {
    // the kernel ends the value with one newline; anything else (spaces too) is the value's own
    const v = readFileSync(`/proc/sys/kernel/${name}`, "utf8");
    // (no regex: its first use costs `tracer run` ~0.05 ms, issue 15)
    return (v.endsWith("\n") ? v.slice(0, -1) : v) || undefined;
  } catch {
    return undefined;
  }
};

/** os.hostname(): the UTS namespace's node name */
export const hostname = (): string => kernelFile("hostname") ?? os().hostname();

/** os.release(): the kernel's release ("6.18.0-…") */
export const release = (): string => kernelFile("osrelease") ?? os().release();

/** os.homedir(): $HOME, else the password database's */
export const homedir = (): string => process.env.HOME || os().homedir();

/** os.tmpdir() */
export const tmpdir = (): string => os().tmpdir();
