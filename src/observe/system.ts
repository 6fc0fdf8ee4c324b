/** Host-wide metrics: CPU busy % since the previous reading, memory, swap, load, disk usage of one filesystem. */
import { readFileSync, statfsSync } from "../../ffi/fs.ts";
import type { SystemMetrics } from "../store/index.ts";

interface CpuTimes {
  busy: number;
  total: number;
}

function cpuTimes(): CpuTimes {
  const line = readFileSync("/proc/stat", "latin1").split("\n", 1)[0] ?? "";
  // "cpu  user nice system idle iowait irq softirq steal …" (guest is already inside user): the first
  // 8 numbers summed, idle + iowait idle (a loop, no regex or Array builtins: their first use costs
  // `tracer run` ~0.05 ms each, issue 15)
  let total = 0;
  let idle = 0;
  let field = 0;
  for (const w of line.split(" ")) {
    if (w === "") continue;
    if (field > 0) {
      const n = Number(w);
      total += n;
      if (field === 4 || field === 5) idle += n;
    }
    if (++field > 8) break;
  }
  return { busy: total - idle, total };
}

const MEMINFO_KEYS = ["MemTotal", "MemAvailable", "MemFree", "SwapTotal", "SwapFree"] as const;

/**
 * The few /proc/meminfo lines used ("MemTotal:   24684092 kB", KiB), each undefined when absent:
 * found in place, without a regex run once per line (its first use costs `tracer run` ~0.05 ms, and
 * each run ~2 µs in the interpreter; issue 15).
 */
function meminfo(text: string): Partial<Record<(typeof MEMINFO_KEYS)[number], number>> {
  const out: Partial<Record<(typeof MEMINFO_KEYS)[number], number>> = {};
  for (const key of MEMINFO_KEYS) {
    const head = `${key}:`;
    // the line's start: the text's, or just after a newline
    const line = text.startsWith(head) ? 0 : text.indexOf(`\n${head}`) + 1;
    if (line === 0 && !text.startsWith(head)) continue;
    let i = line + head.length;
    const ws = i;
    while (text.charCodeAt(i) === 32 || text.charCodeAt(i) === 9) i++;
    const first = i;
    while (text.charCodeAt(i) >= 48 && text.charCodeAt(i) <= 57) i++;
    if (i > first && first > ws) out[key] = Number(text.slice(first, i));
  }
  return out;
}

export class SystemSampler {
  private last: CpuTimes | undefined;

  /**
   * `baseline`: read the CPU times now, for the first read()'s CPU %. Without an earlier reading to
   * compare with (no baseline, or readings within one clock tick) the CPU % is unknown: null, not 0;
   * the baseline is then kept for the next read().
   */
  constructor(
    private readonly diskPath: string,
    baseline = true,
  ) {
    if (baseline)
      try {
        this.last = cpuTimes();
      } catch {}
  }

  read(): SystemMetrics {
    let cpuPct: number | null = null;
    try {
      const now = cpuTimes();
      if (this.last && now.total > this.last.total)
        cpuPct = (100 * (now.busy - this.last.busy)) / (now.total - this.last.total);
      if (!this.last || now.total > this.last.total) this.last = now;
    } catch {}
    const mem = safe(() => meminfo(readFileSync("/proc/meminfo", "latin1")), {});
    const load = safe(() => {
      const out: number[] = [];
      for (const w of readFileSync("/proc/loadavg", "latin1").split(" ", 3)) out.push(Number(w));
      return out;
    }, [0, 0, 0]);
    const fs = safe(() => statfsSync(this.diskPath), undefined);
    const memTotal = mem.MemTotal ?? 0;
    return {
      at: Date.now(),
      cpuPct,
      memTotalKb: memTotal,
      memUsedKb: memTotal - (mem.MemAvailable ?? mem.MemFree ?? 0),
      swapTotalKb: mem.SwapTotal ?? 0,
      swapUsedKb: (mem.SwapTotal ?? 0) - (mem.SwapFree ?? 0),
      load1: load[0] ?? 0,
      load5: load[1] ?? 0,
      load15: load[2] ?? 0,
      diskTotalBytes: fs ? fs.blocks * fs.bsize : 0,
      diskUsedBytes: fs ? (fs.blocks - fs.bfree) * fs.bsize : 0,
    };
  }
}

function safe<T>(f: () => T, fallback: T): T {
  try {
    return f();
  } catch {
    return fallback;
  }
}
