/**
 * Exact conversions between the kernel's clocks and epoch ms. The proc connector stamps events with
 * CLOCK_MONOTONIC (ns); /proc start ticks count CLOCK_BOOTTIME in 10 ms steps. Both offsets to
 * CLOCK_REALTIME are read back to back in native code (ffi/netlink.c) and re-read every few seconds,
 * so NTP slewing cannot accumulate. Without the native helper (not Linux), /proc/uptime gives boot
 * time to 10 ms.
 */
import { dfgOnly } from "../core/jit-tier.ts";
import { readFileSync } from "../../ffi/fs.ts";
import { clockOffsetsMs } from "../../ffi/netlink.ts";

/** USER_HZ: /proc times are in these ticks on every Linux we target. */
export const CLK_TCK = 100;
const REFRESH_MS = 5000;

let cached: { realMinusMono: number; realMinusBoot: number; readAt: number } | undefined;

function offsets(): { realMinusMono: number; realMinusBoot: number } {
  const now = performance.now();
  if (cached && now - cached.readAt < REFRESH_MS) return cached;
  try {
    cached = { ...clockOffsetsMs(), readAt: now };
  } catch {
    // no native helper: boot time from /proc/uptime (10 ms), monotonic unknown (events carry epoch ms)
    let up = 0;
    try {
      up = Number(readFileSync("/proc/uptime", "latin1").split(" ")[0]) * 1000;
    } catch {}
    const boot = Date.now() - up;
    cached = { realMinusMono: boot, realMinusBoot: boot, readAt: now };
  }
  return cached;
}

/** CLOCK_REALTIME − CLOCK_MONOTONIC, ms (add to a monotonic time in ms to get epoch ms). */
export const realMinusMonoMs = (): number => offsets().realMinusMono;

/** A CLOCK_MONOTONIC time in ns (connector timestamp_ns) → ms since the epoch. */
export const monoNsToEpochMs = (ns: number): number => ns / 1e6 + offsets().realMinusMono;

/** Epoch ms of boot (CLOCK_BOOTTIME zero). */
export const bootEpochMs = (): number => offsets().realMinusBoot;

/** Start ticks (/proc/PID/stat field 22) → epoch ms of the tick's beginning. */
export const ticksToEpochMs = (ticks: number): number => bootEpochMs() + (ticks * 1000) / CLK_TCK;

/**
 * The start ticks the kernel shows for a process forked at `epochMs` (floor of boot time in ticks).
 * The kernel takes its start time µs before the fork event's timestamp: within a few µs of a tick
 * boundary this can be one tick later than /proc shows (identity never depends on it: see recorder).
 */
export const epochMsToTicks = (epochMs: number): number =>
  Math.floor(((epochMs - bootEpochMs()) * CLK_TCK) / 1000);

/**
 * Can a process /proc shows with start `ticks` be the one whose fork event came at `epochMs`? Its start
 * precedes the event (by µs, or by as long as the forking task was preempted in between), so it began
 * no later than the event, give or take `slackMs` (the offsets' rounding): a process given the pid
 * again 12 ms or more after that fork (clone3 set_tid, ns_last_pid) is not it. (A process that started
 * before the fork cannot show: the pid was free then.) ±2 ticks of the event's own tick let one 21 ms
 * later pass as the first, which then took its start ticks and lost its row to the second (found by
 * an attack, 2 Dec 2026).
 */
export const startHoldsFork = (ticks: number, epochMs: number, slackMs = 2): boolean =>
  ticksToEpochMs(ticks) <= epochMs + slackMs;

// called for every message or process of a recording: kept out of the FTL tier (src/observe/tiers.ts)
dfgOnly(offsets);
