/*
 * tracer run's scheduler-runtime ledger: small eBPF programs that add up, in the kernel, every
 * nanosecond the scheduler charges to a process of the run's tree — exactly what the kernel adds to
 * its sum_exec_runtime and what wait4's rusage reports, the exit teardown and every thread's last
 * slice included. The taskstats record is sent before exit_mm and a process whose parent reaps it at
 * once is gone before its CPU clock can be read; this figure is complete whoever reaps it.
 *
 * Compiled like the other helpers (prebuilt object or TinyCC); forward declarations only. Needs
 * CAP_BPF + CAP_PERFMON (root); any failure leaves tracer with its other sources (sr_status_now < 0).
 *
 *  - raw tracepoint sched_process_fork(parent, child): when the parent's process (tgid) is in the
 *    map and the child is a new process (not a thread of it), the child's tgid is entered with a zero
 *    runtime and the fork time (CLOCK_MONOTONIC ns, the connector's clock) — replacing a stale entry
 *    of an earlier process with the same pid forked more than SR_WINDOW_NS before (within it, the
 *    stale entry is closed instead and the child is not followed: an entry is taken for a process
 *    whose start is within that window of its fork time); any other new process whose pid has an
 *    entry (an ended process not taken yet: a pid is reused only after its process was reaped)
 *    marks that entry ended (SR_ENDED in its fork time): the new process never adds to it;
 *  - raw tracepoint sched_stat_runtime(task, delta_ns): the kernel calls it beside every
 *    `sum_exec_runtime += delta` (update_se), for every scheduling class since Linux 6.8 (before,
 *    the fair class only: other tasks' entries are short); when the task's tgid is in
 *    the map and not ended, delta is added atomically;
 *  - raw tracepoint sched_process_exec(task, ...): exec_mmap has just folded the replaced image's
 *    peak RSS into signal->maxrss (wait4's ru_maxrss); the entry keeps the largest (pages). A child
 *    entered while it shares its parent's mm (vfork, posix_spawn) holds ~0 there: its first exec
 *    brings the parent's peak, kept as its baseline; a later exec above it shows the peak of an
 *    image of its own, exactly (below or at it, its earlier images stay unknown).
 *
 *  - raw tracepoint sched_process_exit(task, ...): every exiting thread's I/O counters (task->ioac:
 *    rchar, wchar, read_bytes, write_bytes), final by then, are added to its process's entry; once
 *    the last thread has exited, the entry holds the process's own I/O exactly, whatever reaps it
 *    (taskstats rounds each thread down to a whole KiB, /proc/PID/io adds the reaped children).
 *
 * Its map also serves as the tree's membership in the kernel: sr_filter_execs puts a socket filter on
 * the exec watcher's socket that drops the exec events of processes without an entry.
 *
 * The programs read task_struct.tgid at an offset found in the kernel's own type information
 * (/sys/kernel/btf/vmlinux), so they need no compiler and no headers; a self-check after attaching
 * (tracer's own entry must grow when its CPU clock is read, which runs update_se) refuses a wrong
 * offset. Entries are removed as processes are taken (sr_take); the map holds at most SR_CAPACITY
 * (a fork beyond it is simply not entered: that process keeps its other figures). Closing the fds
 * (sr_close, or tracer's exit) detaches the programs and frees the map.
 *
 * Every function returns -errno on failure.
 */
typedef long ssize_t;
typedef unsigned long size_t;
typedef unsigned char u8;
typedef unsigned int u32;
typedef unsigned long long u64;

long syscall(long number, ...);
int open(const char *path, int flags, ...);
ssize_t pread(int fd, void *buf, size_t n, long offset);
int close(int fd);
int getpid(void);
int getpagesize(void);
int clock_gettime(int clock, void *ts);
int *__errno_location(void);
typedef unsigned long pthread_t;
int pthread_create(pthread_t *thread, const void *attr, void *(*fn)(void *), void *arg);
int pthread_detach(pthread_t thread);
int pthread_mutex_lock(void *mutex);
int pthread_mutex_unlock(void *mutex);
int setsockopt(int fd, int level, int name, const void *value, unsigned int len);

#if defined(__x86_64__)
#define SYS_BPF 321
#elif defined(__aarch64__)
#define SYS_BPF 280
#else
#define SYS_BPF -1
#endif

#define O_RDONLY 0
#define O_CLOEXEC 02000000
#define ENOENT 2
#define EINVAL 22
#define ENOSYS 38
#define EPROTO 71
#define ENODATA 61

#define BPF_MAP_CREATE 0
#define BPF_MAP_LOOKUP_ELEM 1
#define BPF_MAP_UPDATE_ELEM 2
#define BPF_MAP_DELETE_ELEM 3
#define BPF_PROG_LOAD 5
#define BPF_RAW_TRACEPOINT_OPEN 17
#define BPF_MAP_TYPE_HASH 1
#define BPF_PROG_TYPE_SOCKET_FILTER 1
#define BPF_PROG_TYPE_RAW_TRACEPOINT 17
#define BPF_F_NO_PREALLOC 1
#define BPF_F_RDONLY_PROG 0x80
#define BPF_ANY 0
#define BPF_NOEXIST 1

#define SR_CAPACITY 32768
/* set in an entry's fork time when another process takes its pid: the runtime is final */
#define SR_ENDED (1ULL << 63)
/* in the peak field: a CLONE_VM child's baseline (the parent's peak its first exec brought), not its own */
#define SR_BASELINE (1ULL << 62)
/* src/observe/schedrt.ts FORK_WINDOW_MS: an entry is taken for a process forked within this of it */
#define SR_WINDOW_NS 100000000

/* one eBPF instruction: opcode, dst | src << 4 (little-endian hosts only: x86-64, arm64), offset, imm */
struct sr_insn {
  u8 code;
  u8 regs;
  short off;
  int imm;
};
#define INSN(c, d, s, o, i) {(c), (u8)((d) | ((s) << 4)), (o), (i)}
#define LDX_DW(d, s, o) INSN(0x79, d, s, o, 0)
#define LDX_W(d, s, o) INSN(0x61, d, s, o, 0)
#define STX_W(d, s, o) INSN(0x63, d, s, o, 0)
#define STX_DW(d, s, o) INSN(0x7b, d, s, o, 0)
#define ST_DW(d, o, i) INSN(0x7a, d, 0, o, i)
#define XADD_DW(d, s, o) INSN(0xdb, d, s, o, 0) /* BPF_STX | BPF_ATOMIC | BPF_DW, imm BPF_ADD */
#define MOV_K(d, i) INSN(0xb7, d, 0, 0, i)
#define MOV_X(d, s) INSN(0xbf, d, s, 0, 0)
#define ADD_K(d, i) INSN(0x07, d, 0, 0, i)
#define JEQ_K(d, i, o) INSN(0x15, d, 0, o, i)
#define JEQ_X(d, s, o) INSN(0x1d, d, s, o, 0)
#define JNE_X(d, s, o) INSN(0x5d, d, s, o, 0)
#define JNE_K(d, i, o) INSN(0x55, d, 0, o, i)
#define JLE_X(d, s, o) INSN(0xbd, d, s, o, 0) /* unsigned */
#define JSLT_K(d, i, o) INSN(0xc5, d, 0, o, i)
#define LSH_K(d, i) INSN(0x67, d, 0, 0, i)
#define OR_X(d, s) INSN(0x4f, d, s, 0, 0)
#define RSH_K(d, i) INSN(0x77, d, 0, 0, i)
#define SUB_X(d, s) INSN(0x1f, d, s, 0, 0)
#define ADD_X(d, s) INSN(0x0f, d, s, 0, 0)
#define JGT_K(d, i, o) INSN(0x25, d, 0, o, i)
#define JA(o) INSN(0x05, 0, 0, o, 0)
#define CALL(f) INSN(0x85, 0, 0, 0, f)
#define EXIT() INSN(0x95, 0, 0, 0, 0)
#define LD_MAP(d, fd) INSN(0x18, d, 1, 0, fd), INSN(0, 0, 0, 0, 0) /* BPF_PSEUDO_MAP_FD */
#define FN_LOOKUP 1
#define FN_UPDATE 2
#define FN_KTIME_NS 5
#define FN_CURRENT_PID_TGID 14
#define FN_CURRENT_TASK 35
#define FN_PROBE_READ_KERNEL 113
#define FN_SKB_LOAD_BYTES 26
#define R10 10

#define SR_LINKS 5
static int sr_map = -1, sr_links[SR_LINKS] = {-1, -1, -1, -1, -1};
/* the map value: runtime ns, fork time ns, earlier images' peak RSS (pages), then the I/O counters of
 * the process's threads that have exited (bytes: rchar, wchar, read_bytes, write_bytes), then the
 * runtime at its last exec (ns | SR_SEEN; 0: no exec seen), then the exec's time (CLOCK_MONOTONIC ns)
 * while the slice it ran in is still to be split (0: nothing to split), then when its latest thread
 * exit ran and when it last generated a signal (CLOCK_MONOTONIC ns; 0: none seen), then at that
 * signal (its exit's notification) the process's tick-sampled user and system time and its signal's
 * prev_cputime (user, system; ns: what cputime_adjust splits the runtime by, as wait4 will) */
#define SR_VALUE 15
/* in the last field: an exec was seen (a runtime of 0 is one: a child that execs in its first slice) */
#define SR_SEEN (1ULL << 63)
/* the exit program is attached: the I/O fields are counted (else unknown) */
static int sr_io;
/* the signal program is attached too: field 10 stamps the parent's notification */
static int sr_end;
/* and it reads the tick-sampled times there (fields 11-14): the kernel's offsets were found */
static int sr_ticks;
/* sr_open_async's thread: SR_PENDING until it is done, then 0 or -errno; sr_close while it runs
 * leaves the clean-up to it (under the mutex: a zeroed glibc/musl mutex is a default one) */
#define SR_PENDING 1
#define SR_IDLE 2
static volatile int sr_status = SR_IDLE, sr_closing;
static u64 sr_mutex[8]; /* 64 bytes, 8-aligned: a futex word must be aligned, a char array need not be */

static long bpf(int cmd, void *attr, u32 size) {
  long r = syscall(SYS_BPF, cmd, attr, size);
  return r < 0 ? -*__errno_location() : r;
}

static void zero(void *p, size_t n) {
  for (size_t i = 0; i < n; i++) ((u8 *)p)[i] = 0;
}

/* the `n` bytes read from a BTF string hold a NUL-terminated name equal to want */
static int name_is(const char *got, ssize_t n, const char *want) {
  for (ssize_t i = 0; i < n; i++) {
    if (got[i] != want[i]) return 0;
    if (!got[i]) return 1;
  }
  return 0;
}

/* a NUL-terminated name of at most 31 bytes at the BTF string offset, compared with want */
static int btf_name_is(int fd, long at, const char *want) {
  char got[32];
  return name_is(got, pread(fd, got, sizeof got, at), want);
}

/*
 * The byte offsets of `n` members of struct `type`, from the kernel's BTF (header, then types, then
 * strings; each type a 12-byte btf_type followed by data whose size depends on its kind), into `out`
 * (-ENOENT for a member it lacks, -EPROTO for a bit field). One pass, reading only as far as the struct:
 * task_struct comes early (type 114 of ~130,000 here). 0 when the struct was found, else -errno.
 */
static long btf_member_offsets(const char *type, const char *const *members, int n, long *out) {
  for (int k = 0; k < n; k++) out[k] = -ENOENT;
  int fd = open("/sys/kernel/btf/vmlinux", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -*__errno_location();
  long result = -ENOENT;
  u32 hdr[6];
  if (pread(fd, hdr, sizeof hdr, 0) != sizeof hdr || (hdr[0] & 0xffff) != 0xeb9f) {
    close(fd);
    return -EPROTO;
  }
  long types = (long)hdr[1] + hdr[2], end = types + hdr[3], strs = (long)hdr[1] + hdr[4];
  static u8 chunk[65536];
  long base = -1, len = 0;
  for (long at = types; at < end;) {
    if (at < base || at + 12 > base + len) {
      ssize_t got = pread(fd, chunk, sizeof chunk, at);
      if (got < 12) break;
      base = at;
      len = got;
    }
    u32 *t = (u32 *)(chunk + (at - base));
    u32 name = t[0], info = t[1], vlen = info & 0xffff, kind = (info >> 24) & 0x1f, kflag = info >> 31;
    long data = at + 12, size = 0;
    if (kind == 1 || kind == 14 || kind == 17) size = 4;
    else if (kind == 3) size = 12;
    else if (kind == 4 || kind == 5 || kind == 15 || kind == 19) size = vlen * 12L;
    else if (kind == 6 || kind == 13) size = vlen * 8L;
    if (kind == 4 && btf_name_is(fd, strs + name, type)) {
      result = 0;
      for (u32 i = 0; i < vlen; i++) {
        u32 m[3];
        char got[32];
        if (pread(fd, m, sizeof m, data + i * 12L) != sizeof m) break;
        ssize_t g = pread(fd, got, sizeof got, strs + m[0]); /* the member's name: read once */
        for (int k = 0; k < n; k++) {
          if (out[k] != -ENOENT || !name_is(got, g, members[k])) continue;
          u32 bits = kflag ? m[2] & 0xffffff : m[2];
          out[k] = bits % 8 ? -EPROTO : (long)(bits / 8);
          break;
        }
      }
      break;
    }
    at = data + size;
  }
  close(fd);
  return result;
}

static long load(u32 type, struct sr_insn *prog, u32 n) {
  u64 attr[16];
  zero(attr, sizeof attr);
  u32 *w = (u32 *)attr;
  w[0] = type;
  w[1] = n;
  attr[1] = (u64)(unsigned long)prog;
  attr[2] = (u64)(unsigned long)"GPL";
  return bpf(BPF_PROG_LOAD, attr, sizeof attr);
}

static long attach(long prog, const char *tracepoint) {
  u64 attr[4];
  zero(attr, sizeof attr);
  attr[0] = (u64)(unsigned long)tracepoint;
  ((u32 *)attr)[2] = (u32)prog;
  long link = bpf(BPF_RAW_TRACEPOINT_OPEN, attr, sizeof attr);
  close((int)prog); /* the link holds the program */
  return link;
}

static long map_op(int cmd, u32 key, u64 *value, u64 flags) {
  u64 attr[4];
  zero(attr, sizeof attr);
  ((u32 *)attr)[0] = (u32)sr_map;
  attr[1] = (u64)(unsigned long)&key;
  attr[2] = (u64)(unsigned long)value;
  attr[3] = flags;
  return bpf(cmd, attr, sizeof attr);
}

static void release(void) {
  for (int i = 0; i < SR_LINKS; i++)
    if (sr_links[i] >= 0) close(sr_links[i]), sr_links[i] = -1;
  if (sr_map >= 0) close(sr_map), sr_map = -1;
}

/*
 * Create the map, load and attach the programs, and enter `root` (tracer's own pid: its children
 * and all their descendants are followed from here). 0, or -errno (ENOSYS: not Linux on x86-64/arm64;
 * EPROTO: the kernel's type information is not what this expects, or the self-check failed).
 */
static int open_ledger(int root) {
  if (SYS_BPF < 0) return -ENOSYS;
  static const char *const task_members[] = {"tgid", "mm", "signal", "ioac", "parent", "utime", "stime",
                                             "group_leader"};
  static const char *const sig_members[] = {"maxrss", "utime", "stime", "prev_cputime"};
  long t_off[8], s_off[4], prev_off[2], io_off[4] = {0, 0, 0, 0};
  static const char *const io_members[] = {"rchar", "wchar", "read_bytes", "write_bytes"};
  long r = btf_member_offsets("task_struct", task_members, 8, t_off);
  if (r < 0) return (int)r;
  for (int k = 0; k < 3; k++)
    if (t_off[k] < 0) return (int)t_off[k];
  long off = t_off[0], mm_off = t_off[1], sig_off = t_off[2], maxrss_off;
  r = btf_member_offsets("signal_struct", sig_members, 4, s_off);
  maxrss_off = s_off[0];
  if (r < 0 || maxrss_off < 0) return (int)(r < 0 ? r : maxrss_off);
  /* the tick samples at the exit's notification (optional): utime and stime side by side in the task
   * and its signal, prev_cputime's two fields first in theirs (a kernel without them: 0 fields) */
  int ticks = t_off[5] >= 0 && t_off[6] == t_off[5] + 8 && t_off[7] >= 0 && s_off[1] >= 0 &&
              s_off[2] == s_off[1] + 8 && s_off[3] >= 0 &&
              btf_member_offsets("prev_cputime", (const char *const[]){"utime", "stime"}, 2, prev_off) == 0 &&
              prev_off[0] == 0 && prev_off[1] == 8;
  /* I/O is optional (CONFIG_TASK_XACCT, CONFIG_TASK_IO_ACCOUNTING): without it the exit program is not
   * loaded and the I/O fields stay unknown */
  int io = t_off[3] >= 0 && btf_member_offsets("task_io_accounting", io_members, 4, io_off) == 0;
  long io_lo = io_off[0], io_hi = io_off[0];
  for (int k = 0; io && k < 4; k++) {
    if (io_off[k] < 0) io = 0;
    if (io_off[k] < io_lo) io_lo = io_off[k];
    if (io_off[k] > io_hi) io_hi = io_off[k];
  }
  /* read at once into 56 bytes of stack; without I/O the exit program below is built but never loaded */
  if (!io || io_hi + 8 - io_lo > 56) io = 0, io_lo = io_hi = 0, io_off[0] = io_off[1] = io_off[2] = io_off[3] = 0;
  u32 mattr[12];
  zero(mattr, sizeof mattr);
  mattr[0] = BPF_MAP_TYPE_HASH;
  mattr[1] = 4;  /* key: tgid */
  mattr[2] = SR_VALUE * 8;
  mattr[3] = SR_CAPACITY;
  mattr[4] = BPF_F_NO_PREALLOC;
  long map = bpf(BPF_MAP_CREATE, mattr, sizeof mattr);
  if (map < 0) return (int)map;
  sr_map = (int)map;
  int o = (int)off;
  /* sched_stat_runtime(struct task_struct *task, u64 delta): map[task->tgid].runtime += delta.
   * The first charge after an exec (its time in the last field) splits the slice the exec ran in: the
   * kernel charges a slice only when it ends (a tick, a switch), so the runtime copied at the exec
   * lacked the part of this delta that ran before it. That part is delta − (now − exec time): the
   * slice's length after the exec measured on the monotonic clock (the scheduler's own clock,
   * rq_clock_task, has another origin but the same rate, short of interrupt time); none when the exec
   * came before the slice began. */
  /* And once its exit has notified the parent (field 10 set): the rest of do_exit may take a tick,
   * which wait4's split counts; each charge from then on (the last one in its final schedule, with
   * interrupts off: no tick after it) reads the tick samples and prev_cputime again into fields 11-14
   * as the notify program does (found by an attack, 2 Dec 2026: 8-18 of 1,500 6 ms processes had
   * their split off by half, 11 % with 400 connector listeners lengthening that path; and a parent that
   * reads the zombie's /proc/PID/stat before that tick fixes the split there). Skipped without the
   * offsets. */
  int tsig = (int)sig_off, lead = (int)t_off[7], tut = (int)t_off[5], sut = (int)s_off[1];
  int sprev = (int)s_off[3];
  /* The ticks read by both programs below: a process's tick-sampled user and system time (its signal's
   * plus its leader's, task in register `t`) and its signal's prev_cputime, into fields 11-14 of its
   * entry (register `e`); [-64] task->signal, [-72] task->group_leader, [-88, -72) signal->utime, stime,
   * [-104, -88) the leader's, [-120, -104) signal->prev_cputime. `first` is its first instruction,
   * MOV_X(1, R10), or a jump over the rest. SR_TICKS_LEN instructions. */
#define SR_TICKS_LEN 42
#define SR_TICKS(first, t, e)                                                                              \
  first, ADD_K(1, -64), MOV_K(2, 8), MOV_X(3, t), ADD_K(3, tsig), CALL(FN_PROBE_READ_KERNEL),              \
      MOV_X(1, R10), ADD_K(1, -72), MOV_K(2, 8), MOV_X(3, t), ADD_K(3, lead), CALL(FN_PROBE_READ_KERNEL),  \
      LDX_DW(3, R10, -64), ADD_K(3, sut), MOV_X(1, R10), ADD_K(1, -88), MOV_K(2, 16),                      \
      CALL(FN_PROBE_READ_KERNEL), LDX_DW(3, R10, -72), ADD_K(3, tut), MOV_X(1, R10), ADD_K(1, -104),       \
      MOV_K(2, 16), CALL(FN_PROBE_READ_KERNEL), LDX_DW(3, R10, -64), ADD_K(3, sprev), MOV_X(1, R10),       \
      ADD_K(1, -120), MOV_K(2, 16), CALL(FN_PROBE_READ_KERNEL),                                            \
      LDX_DW(1, R10, -88), LDX_DW(2, R10, -104), ADD_X(1, 2), STX_DW(e, 1, 88),                             \
      LDX_DW(1, R10, -80), LDX_DW(2, R10, -96), ADD_X(1, 2), STX_DW(e, 1, 96),                              \
      LDX_DW(1, R10, -120), STX_DW(e, 1, 104), LDX_DW(1, R10, -112), STX_DW(e, 1, 112)
  struct sr_insn runtime[] = {
      LDX_DW(6, 1, 0), LDX_DW(7, 1, 8),
      MOV_X(1, R10), ADD_K(1, -8), MOV_K(2, 4), MOV_X(3, 6), ADD_K(3, o), CALL(FN_PROBE_READ_KERNEL),
      LD_MAP(1, sr_map), MOV_X(2, R10), ADD_K(2, -8), CALL(FN_LOOKUP),
      JEQ_K(0, 0, 13 + 4 + SR_TICKS_LEN),
      LDX_DW(1, 0, 8), JSLT_K(1, 0, 11 + 4 + SR_TICKS_LEN), /* ended: its pid is another process's now */
      XADD_DW(0, 7, 0),
      MOV_X(8, 0), LDX_DW(1, 8, 80),
      ticks ? (struct sr_insn)JEQ_K(1, 0, SR_TICKS_LEN) : (struct sr_insn)JA(SR_TICKS_LEN), /* not notified yet */
      SR_TICKS(MOV_X(1, R10), 6, 8),
      MOV_X(0, 8),
      LDX_DW(9, 0, 64), JEQ_K(9, 0, 8),  /* no exec's slice to split */
      MOV_X(8, 0), CALL(FN_KTIME_NS), SUB_X(0, 9), /* r0: how long since the exec */
      MOV_X(1, 7), JLE_X(1, 0, 2),       /* the whole delta came after the exec */
      SUB_X(1, 0), XADD_DW(8, 1, 56),    /* the part before it: the earlier image's */
      ST_DW(8, 64, 0),
      MOV_K(0, 0), EXIT(),
  };
  /* sched_process_fork(parent, child): a new process of a followed one is entered {0, now, 0}, or
   * {0, now, ~0} when it shares its parent's address space (vfork, posix_spawn, CLONE_VM): its first
   * exec leaves the parent's peak RSS in its signal->maxrss, so its earlier images are never known */
  int m = (int)mm_off;
  struct sr_insn follow[] = {
      LDX_DW(6, 1, 0), LDX_DW(7, 1, 8),
      MOV_X(1, R10), ADD_K(1, -8), MOV_K(2, 4), MOV_X(3, 6), ADD_K(3, o), CALL(FN_PROBE_READ_KERNEL),
      MOV_X(1, R10), ADD_K(1, -16), MOV_K(2, 4), MOV_X(3, 7), ADD_K(3, o), CALL(FN_PROBE_READ_KERNEL),
      LDX_W(1, R10, -8), LDX_W(2, R10, -16),
      JEQ_X(1, 2, 79), /* a thread: its process is entered already */
      LD_MAP(1, sr_map), MOV_X(2, R10), ADD_K(2, -8), CALL(FN_LOOKUP),
      JEQ_K(0, 0, 62), /* the parent is not followed */
      /* r9: ~0 when parent and child share one mm */
      MOV_X(1, R10), ADD_K(1, -24), MOV_K(2, 8), MOV_X(3, 6), ADD_K(3, m), CALL(FN_PROBE_READ_KERNEL),
      MOV_X(1, R10), ADD_K(1, -32), MOV_K(2, 8), MOV_X(3, 7), ADD_K(3, m), CALL(FN_PROBE_READ_KERNEL),
      MOV_K(9, 0), LDX_DW(1, R10, -24), LDX_DW(2, R10, -32), JNE_X(1, 2, 1), MOV_K(9, -1),
      /* the value at -144 (SR_VALUE fields, every one written: a kernel before 6.4 refuses a map update
       * from stack bytes never written): runtime 0, fork time now, maxrss r9, no I/O yet, no exec, no
       * exec slice to split, no thread exit, no signal, no ticks (the mm reads at -32 are used by now) */
      CALL(FN_KTIME_NS), STX_DW(R10, 0, -136), ST_DW(R10, -144, 0), STX_DW(R10, 9, -128),
      ST_DW(R10, -120, 0), ST_DW(R10, -112, 0), ST_DW(R10, -104, 0), ST_DW(R10, -96, 0), ST_DW(R10, -88, 0),
      ST_DW(R10, -80, 0), ST_DW(R10, -72, 0), ST_DW(R10, -64, 0), ST_DW(R10, -56, 0), ST_DW(R10, -48, 0),
      ST_DW(R10, -40, 0), ST_DW(R10, -32, 0),
      /* an entry under its pid forked within the window (the pid set on purpose: ns_last_pid, clone3
       * set_tid) would be taken for the ended process: it is closed and this one is not followed */
      LD_MAP(1, sr_map), MOV_X(2, R10), ADD_K(2, -16), CALL(FN_LOOKUP),
      JEQ_K(0, 0, 13),
      LDX_DW(1, 0, 8), LSH_K(1, 1), RSH_K(1, 1), LDX_DW(2, R10, -136), SUB_X(2, 1),
      JGT_K(2, SR_WINDOW_NS, 7),
      LDX_DW(1, 0, 8), MOV_K(2, 1), LSH_K(2, 63), OR_X(1, 2), STX_DW(0, 1, 8),
      MOV_K(0, 0), EXIT(),
      LD_MAP(1, sr_map), MOV_X(2, R10), ADD_K(2, -16), MOV_X(3, R10), ADD_K(3, -144), MOV_K(4, BPF_ANY),
      CALL(FN_UPDATE),
      MOV_K(0, 0), EXIT(),
      /* any other new process: an entry under its pid is an ended process's, not yet taken — closed */
      LD_MAP(1, sr_map), MOV_X(2, R10), ADD_K(2, -16), CALL(FN_LOOKUP),
      JEQ_K(0, 0, 5),
      LDX_DW(1, 0, 8), MOV_K(2, 1), LSH_K(2, 63), OR_X(1, 2), STX_DW(0, 1, 8),
      MOV_K(0, 0), EXIT(),
  };
  /* sched_process_exec(task, old_pid, bprm): exec_mmap has just folded the replaced image's peak RSS
   * M into signal->maxrss (what wait4's ru_maxrss reports). The entry's third field:
   *  - a plain value: the largest M so far; M above it is kept;
   *  - ~0, a CLONE_VM child before its first exec: that exec folds in the parent's peak, not its own;
   *    M becomes its baseline B (flagged SR_BASELINE): nothing known yet;
   *  - B | SR_BASELINE: a later M above B can only be an image of its own (maxrss = max(B, its
   *    images' peaks)): M is kept, exact; M = B says only that its images stayed at or below B.
   * And the runtime so far goes to field 7 (| SR_SEEN): what the earlier images used, short of the
   * current slice, not yet charged; the exec's time goes to field 8, for the runtime program to add
   * that slice's part before the exec at its next charge. */
  int sg = (int)sig_off, mx = (int)maxrss_off;
  struct sr_insn exec[] = {
      LDX_DW(6, 1, 0),
      MOV_X(1, R10), ADD_K(1, -8), MOV_K(2, 4), MOV_X(3, 6), ADD_K(3, o), CALL(FN_PROBE_READ_KERNEL),
      MOV_X(1, R10), ADD_K(1, -16), MOV_K(2, 8), MOV_X(3, 6), ADD_K(3, sg), CALL(FN_PROBE_READ_KERNEL),
      LDX_DW(3, R10, -16), ADD_K(3, mx), MOV_X(1, R10), ADD_K(1, -24), MOV_K(2, 8), CALL(FN_PROBE_READ_KERNEL),
      LD_MAP(1, sr_map), MOV_X(2, R10), ADD_K(2, -8), CALL(FN_LOOKUP),
      JEQ_K(0, 0, 31),                              /* not followed */
      LDX_DW(1, 0, 8), JSLT_K(1, 0, 29),            /* ended: its pid is another process's now */
      LDX_DW(1, 0, 0), MOV_K(2, 1), LSH_K(2, 63), OR_X(1, 2), STX_DW(0, 1, 56), /* runtime at exec */
      MOV_X(7, 0), CALL(FN_KTIME_NS), STX_DW(7, 0, 64), MOV_X(0, 7), /* and when */
      LDX_DW(1, R10, -24), LDX_DW(2, 0, 16),        /* r1 = M, r2 = the field */
      JEQ_K(2, -1, 9),                              /* ~0: to the baseline */
      MOV_X(3, 2), RSH_K(3, 62), JEQ_K(3, 0, 12),   /* plain: to the maximum */
      MOV_X(3, 2), LSH_K(3, 2), RSH_K(3, 2),        /* r3 = B */
      JLE_X(1, 3, 10),                              /* M <= B: still unknown */
      STX_DW(0, 1, 16), JA(8),                      /* M > B: an image of its own, exact */
      MOV_X(3, 1), MOV_K(4, 1), LSH_K(4, 62), OR_X(3, 4), STX_DW(0, 3, 16), JA(2), /* B | SR_BASELINE */
      JLE_X(1, 2, 1), STX_DW(0, 1, 16),             /* the maximum */
      MOV_K(0, 0), EXIT(),
  };
  /* sched_process_exit(task, ...): do_exit calls it for every thread, leader included, after the
   * thread's last system call (taskstats_exit has read the same counters) and before it is released
   * (when the kernel folds them into signal->ioac, mixed there with the reaped children's): the
   * thread's I/O counters, final, are added to its process's entry. Summed over all threads, exact
   * (taskstats rounds each thread down to a whole KiB; /proc/PID/task/PID/io is the main thread's).
   * And the time (field 9): after exit_mm, before exit_files (a close that flushes, NFS's, still to
   * come): not the process's end, but the mark that a signal stamped after it (field 10) was sent by
   * its exit */
  int span = (int)(io_hi + 8 - io_lo), at = (int)(t_off[3] + io_lo);
  struct sr_insn leave[] = {
      LDX_DW(6, 1, 0),
      MOV_X(1, R10), ADD_K(1, -8), MOV_K(2, 4), MOV_X(3, 6), ADD_K(3, o), CALL(FN_PROBE_READ_KERNEL),
      LD_MAP(1, sr_map), MOV_X(2, R10), ADD_K(2, -8), CALL(FN_LOOKUP),
      JEQ_K(0, 0, 19),                              /* not followed */
      LDX_DW(1, 0, 8), JSLT_K(1, 0, 17),            /* ended: its pid is another process's now */
      MOV_X(7, 0),
      /* [r10-64, r10-64+span): task->ioac from its first wanted field to its last */
      MOV_X(1, R10), ADD_K(1, -64), MOV_K(2, span), MOV_X(3, 6), ADD_K(3, at), CALL(FN_PROBE_READ_KERNEL),
      LDX_DW(1, R10, (short)(-64 + io_off[0] - io_lo)), XADD_DW(7, 1, 24),
      LDX_DW(1, R10, (short)(-64 + io_off[1] - io_lo)), XADD_DW(7, 1, 32),
      LDX_DW(1, R10, (short)(-64 + io_off[2] - io_lo)), XADD_DW(7, 1, 40),
      LDX_DW(1, R10, (short)(-64 + io_off[3] - io_lo)), XADD_DW(7, 1, 48),
      CALL(FN_KTIME_NS), STX_DW(7, 0, 72),          /* and when: the last thread's is the last stored */
      MOV_K(0, 0), EXIT(),
  };
  /* signal_generate(sig, info, task, group, result): a SIGCHLD the current task sends to its parent
   * (task->parent: the one exit_notify notifies, a ptracer while traced) with the siginfo of an exit
   * (si_code CLD_EXITED, CLD_KILLED or CLD_DUMPED, si_pid its own tgid) — at its end, exit_notify's
   * notification, generated just before the parent is woken — gives its process's entry the time (field
   * 10): the end to the ns, where the connector stamps its exit after that wake-up (a child the parent it
   * woke preempted was stamped after its parent had reaped it). Nothing else is stamped: an exit sends
   * other signals before exit_notify (SIGIO of a pipe it closes, SIGHUP to its session, PR_SET_PDEATHSIG
   * signals), and its teardown can go on for 100s of ms after them. Three attacks (2 Dec 2026) found
   * such signals passing looser filters: any signal; a SIGCHLD made by F_SETSIG (the kernel gives that
   * si_code SI_SIGIO) or a SIGCHLD timer firing while the child ran (SI_TIMER); an exit signal of its own
   * made by F_SETSIG, whose POLL_* si_code equals a CLD_* one and whose si_band sits where si_pid does
   * (0x304 for a child of global pid 772). So SIGCHLD only: a custom exit signal (clone) keeps the
   * connector's time, as a parent ignoring SIGCHLD (sent nothing) and a parent in another pid namespace
   * (si_pid is not the global tgid) do. SEND_SIG_NOINFO and SEND_SIG_PRIV (0, 1) fail to read and leave
   * zeros.
 * Then (fields 11-14) what wait4 will split the runtime by (cputime_adjust): the process's tick-sampled
 * user and system time — its signal's (threads released, current too when it is a thread released
 * before notifying for its zombie leader) plus its leader's; no other thread is left — and its
 * signal's prev_cputime (a /proc/PID/stat read during its life set it; the split never goes below it).
 * taskstats' times lack the ticks of the teardown after them (exit_mm, exit_files): a system-heavy
 * teardown moved the split by up to 17 ms. */
  int par = (int)t_off[4];
  struct sr_insn notify[] = {
      LDX_DW(6, 1, 0), JNE_K(6, 17 /* SIGCHLD */, 36 + SR_TICKS_LEN),
      LDX_DW(7, 1, 16), LDX_DW(9, 1, 8),            /* r7 = the task it is sent to, r9 = info */
      CALL(FN_CURRENT_TASK), MOV_X(8, 0),
      MOV_X(1, R10), ADD_K(1, -16), MOV_K(2, 8), MOV_X(3, 8), ADD_K(3, par), CALL(FN_PROBE_READ_KERNEL),
      LDX_DW(1, R10, -16), JNE_X(1, 7, 24 + SR_TICKS_LEN), /* not to its parent */
      MOV_X(1, R10), ADD_K(1, -48), MOV_K(2, 24), MOV_X(3, 9), CALL(FN_PROBE_READ_KERNEL),
      LDX_W(1, R10, -40), ADD_K(1, -1), JGT_K(1, 2, 16 + SR_TICKS_LEN), /* si_code (8) not an exit's */
      CALL(FN_CURRENT_PID_TGID), RSH_K(0, 32), STX_W(R10, 0, -8),
      LDX_W(1, R10, -32), JNE_X(1, 0, 11 + SR_TICKS_LEN), /* si_pid (16) another's */
      LD_MAP(1, sr_map), MOV_X(2, R10), ADD_K(2, -8), CALL(FN_LOOKUP),
      JEQ_K(0, 0, 5 + SR_TICKS_LEN),                /* not followed */
      LDX_DW(1, 0, 8), JSLT_K(1, 0, 3 + SR_TICKS_LEN), /* ended: its pid is another process's now */
      MOV_X(7, 0), CALL(FN_KTIME_NS), STX_DW(7, 0, 80),
      /* the ticks (jumped over when their offsets were not found) */
      SR_TICKS((ticks ? (struct sr_insn)MOV_X(1, R10) : (struct sr_insn)JA(SR_TICKS_LEN - 1)), 8, 7),
      MOV_K(0, 0), EXIT(),
  };
  long p = load(BPF_PROG_TYPE_RAW_TRACEPOINT, runtime, sizeof runtime / sizeof runtime[0]);
  if (p >= 0) sr_links[0] = (int)(p = attach(p, "sched_stat_runtime"));
  if (p >= 0) p = load(BPF_PROG_TYPE_RAW_TRACEPOINT, follow, sizeof follow / sizeof follow[0]);
  if (p >= 0) sr_links[1] = (int)(p = attach(p, "sched_process_fork"));
  if (p >= 0) p = load(BPF_PROG_TYPE_RAW_TRACEPOINT, exec, sizeof exec / sizeof exec[0]);
  if (p >= 0) sr_links[2] = (int)(p = attach(p, "sched_process_exec"));
  /* the I/O program failing to load or attach costs only the I/O fields */
  sr_io = 0;
  if (p >= 0 && io) {
    long q = load(BPF_PROG_TYPE_RAW_TRACEPOINT, leave, sizeof leave / sizeof leave[0]);
    if (q >= 0) q = attach(q, "sched_process_exit");
    if (q >= 0) sr_links[3] = (int)q, sr_io = 1;
  }
  /* the end's stamp needs field 9 to tell an exit's signal from an earlier one: only beside it */
  sr_end = 0;
  sr_ticks = 0;
  if (p >= 0 && sr_io && par >= 0) {
    long q = load(BPF_PROG_TYPE_RAW_TRACEPOINT, notify, sizeof notify / sizeof notify[0]);
    if (q >= 0) q = attach(q, "signal_generate");
    if (q >= 0) sr_links[4] = (int)q, sr_end = 1, sr_ticks = ticks;
  }
  u64 value[SR_VALUE] = {0};
  if (p >= 0) p = map_op(BPF_MAP_UPDATE_ELEM, (u32)root, value, BPF_ANY);
  if (p < 0) {
    release();
    return (int)p;
  }
  /* self-check: reading this thread's CPU clock runs update_se for it, which must reach our entry */
  if (root == getpid()) {
    u64 ts[2];
    for (int i = 0; i < 3 && value[0] == 0; i++) {
      clock_gettime(3 /* CLOCK_THREAD_CPUTIME_ID */, ts);
      if (map_op(BPF_MAP_LOOKUP_ELEM, (u32)root, value, 0) < 0) value[0] = 0;
    }
    if (value[0] == 0) {
      release();
      return -ENODATA; /* loaded and attached, but the runtime never reached the map */
    }
  }
  return 0;
}

static void *opener(void *arg) {
  int status = open_ledger((int)(long)arg);
  pthread_mutex_lock(sr_mutex);
  if (sr_closing) release(), status = SR_IDLE;
  sr_status = status;
  pthread_mutex_unlock(sr_mutex);
  return 0;
}

/*
 * Open the ledger on a thread of its own and return at once: attaching to a tracepoint that was
 * detached moments ago (the previous `tracer run`'s exit) waits for an RCU grace period, 8–19 ms
 * measured here, which CMD's start must not wait for. sr_status() says when it is done.
 */
int sr_open_async(int root) {
  if (SYS_BPF < 0) return -ENOSYS;
  pthread_mutex_lock(sr_mutex);
  int busy = sr_status != SR_IDLE;
  /* an open still under way (closed meanwhile, or not) serves this one too: same process, same root */
  sr_closing = 0;
  if (!busy) sr_status = SR_PENDING;
  pthread_mutex_unlock(sr_mutex);
  if (busy) return 0;
  pthread_t t;
  int r = pthread_create(&t, 0, opener, (void *)(long)root);
  if (r != 0) {
    sr_status = SR_IDLE;
    return -r;
  }
  pthread_detach(t);
  return 0;
}

/* 1 open, 0 still opening, -errno failed (or closed: -ENOENT) */
int sr_status_now(void) {
  pthread_mutex_lock(sr_mutex);
  int s = sr_status;
  pthread_mutex_unlock(sr_mutex);
  return s == SR_PENDING ? 0 : s == 0 ? 1 : s == SR_IDLE ? -ENOENT : s;
}

/* Detach and free (an open still under way does it itself when done). */
void sr_close(void) {
  pthread_mutex_lock(sr_mutex);
  if (sr_status == SR_PENDING) sr_closing = 1;
  else release(), sr_status = SR_IDLE;
  pthread_mutex_unlock(sr_mutex);
}

/*
 * Follow process `tgid`, forked at `fork_ns` (CLOCK_MONOTONIC), from now on: for processes that
 * existed before the ledger opened. Its runtime so far is not in the ledger: the caller reads the
 * process's CPU clock after this and the entry (sr_take with keep) to learn it. `baseline_kb` >= 0: the
 * process is a CLONE_VM child that has exec'd since (CMD, started with vfork semantics), and this is at
 * least the peak its first exec brought from the parent (the parent's own peak RSS read after it,
 * KiB): a later exec that raises its maxrss above that gives its own images' peak; < 0: a process
 * whose earlier images' peak this entry does not claim to know. 1 entered, 0 already there (followed
 * since its fork), -errno.
 */
int sr_follow(int tgid, double fork_ns, double baseline_kb) {
  if (sr_status != 0 || sr_map < 0) return -ENOENT;
  /* a negative double converted to u64 is undefined behaviour: a fork time before boot is 0 */
  u64 per_page = (u64)(getpagesize() / 1024);
  u64 baseline = baseline_kb >= 0 ? (((u64)baseline_kb + per_page - 1) / per_page) | SR_BASELINE : 0;
  u64 value[SR_VALUE] = {0, fork_ns > 0 ? (u64)fork_ns : 0, baseline};
  long r = map_op(BPF_MAP_UPDATE_ELEM, (u32)tgid, value, BPF_NOEXIST);
  return r == -17 /* EEXIST */ ? 0 : r < 0 ? (int)r : 1;
}

/*
 * The runtime of process `tgid`, taken out of the map: out[0] runtime ns, out[1] its fork time
 * (CLOCK_MONOTONIC ns; 0 for the root; for a process entered by sr_follow, the time it was given),
 * out[2] the peak RSS (KiB) of the images its execs replaced (0 none larger, -1 unknown: a CLONE_VM
 * child none of whose execs has yet shown an image of its own above its baseline), out[3..6] the I/O
 * of its threads that have exited since it was entered (bytes: rchar, wchar, read_bytes, write_bytes;
 * -1 when not counted here), out[7] the runtime (ns) it had at its last exec seen here (-1: none), out[8]
 * when out[2] is -1 for a CLONE_VM child that has exec'd: its baseline (KiB), which its images' peak
 * does not exceed (else -1), out[9] when its exit notified its parent (CLOCK_MONOTONIC ns: the last
 * signal it generated, once it came after its latest thread's sched_process_exit; -1 none such seen),
 * out[10..13] with out[9]: the process's tick-sampled user and system time then and its prev_cputime
 * (user, system; ns), what wait4 splits its runtime by (-1 each: not read here).
 * The entry is removed (unless `keep`) only when its fork time is within [lo, hi] (ns; lo > hi accepts any): an entry
 * outside belongs to a later process with the same pid. 1 taken, 0 none (or not this process's), -errno.
 */
int sr_take(int tgid, double lo, double hi, double *out, int keep) {
  if (sr_status != 0 || sr_map < 0) return 0;
  u64 value[SR_VALUE];
  long r = map_op(BPF_MAP_LOOKUP_ELEM, (u32)tgid, value, 0);
  if (r == -ENOENT) return 0;
  if (r < 0) return (int)r;
  value[1] &= ~SR_ENDED;
  if (lo <= hi && ((double)value[1] < lo || (double)value[1] > hi)) return 0;
  if (!keep) map_op(BPF_MAP_DELETE_ELEM, (u32)tgid, 0, 0); /* key only: the kernel refuses any later field set */
  out[0] = (double)value[0];
  out[1] = (double)value[1];
  /* pages to KiB; -1: a CLONE_VM child's images' peak not known (~0 before its first exec, its
   * baseline after), 0: no exec replaced a larger image */
  out[2] = value[2] == ~0ULL || (value[2] & SR_BASELINE) ? -1 : (double)value[2] * (double)(getpagesize() / 1024);
  /* bytes; -1 each when the exit program is not attached */
  for (int k = 3; k < 7; k++) out[k] = sr_io ? (double)value[k] : -1;
  /* ns; -1: no exec seen while followed */
  out[7] = value[7] & SR_SEEN ? (double)(value[7] & ~SR_SEEN) : -1;
  /* KiB: a CLONE_VM child's baseline once it has exec'd (its images' peak unknown but at most this), else -1 */
  out[8] = value[2] != ~0ULL && (value[2] & SR_BASELINE)
               ? (double)(value[2] & ~SR_BASELINE) * (double)(getpagesize() / 1024)
               : -1;
  /* ns: the last signal it generated, when that came after its latest thread exit began (exit_notify's
   * notification of its parent, once it has ended); -1: none such seen (or the programs not attached) */
  out[9] = sr_end && value[9] && value[10] >= value[9] ? (double)value[10] : -1;
  for (int k = 10; k < 14; k++) out[k] = sr_ticks && out[9] >= 0 ? (double)value[k + 1] : -1;
  return 1;
}

/* The ledger's map (an fd this helper keeps; valid until sr_close), for another program that follows
 * the same tree (ffi/execargv.c): the fd, or -ENOENT while the ledger is not open. */
int sr_map_fd(void) {
  pthread_mutex_lock(sr_mutex);
  int map = sr_status == 0 ? sr_map : -ENOENT;
  pthread_mutex_unlock(sr_mutex);
  return map;
}

/*
 * Let the kernel drop, on proc-connector socket `sock` (the exec watcher's exec socket), every exec
 * event of a process the ledger does not follow: an eBPF socket filter (replacing the socket's classic
 * one) keeps an exec event only when its tgid has an entry that is not closed. Processes outside the
 * tree then never wake the watcher's thread (each did: a poll wake-up, a recv and a read of the fork
 * socket, ~16-25 µs of the thread's CPU per unrelated exec on a busy host). Call once the ledger is
 * open and has entered what was alive (every process of the tree then has an entry from its fork on);
 * a process the ledger does not follow (beyond SR_CAPACITY, or not followed on purpose, see the fork
 * program) loses only the watcher's early read of its argv. Messages too short to hold an exec event's
 * pids are kept (the thread checks them as before). The socket holds the program and, through it, the
 * map: sr_close does not stop the filter. 0, or -errno (the ledger not open: -ENOENT).
 */
int sr_filter_execs(int sock) {
  pthread_mutex_lock(sr_mutex);
  int map = sr_status == 0 ? sr_map : -1;
  pthread_mutex_unlock(sr_mutex);
  if (map < 0) return -ENOENT;
  /* r6 = skb; [r10-24, r10) = bytes 36..59: what, cpu, timestamp, process_pid (52), process_tgid (56) */
  struct sr_insn prog[] = {
      MOV_X(6, 1),
      MOV_X(1, 6), MOV_K(2, 36), MOV_X(3, R10), ADD_K(3, -24), MOV_K(4, 24), CALL(FN_SKB_LOAD_BYTES),
      JEQ_K(0, 0, 2),
      MOV_K(0, -1), EXIT(), /* shorter than an exec event: kept */
      LDX_W(1, R10, -24),
      JEQ_K(1, 2 /* PROC_EVENT_EXEC */, 2),
      MOV_K(0, 0), EXIT(), /* any other event: dropped, as the classic filter does */
      LDX_W(1, R10, -8), LDX_W(2, R10, -4),
      JEQ_X(1, 2, 2),
      MOV_K(0, 0), EXIT(),
      LD_MAP(1, map), MOV_X(2, R10), ADD_K(2, -4), CALL(FN_LOOKUP),
      JEQ_K(0, 0, 4), /* not followed */
      LDX_DW(1, 0, 8), JSLT_K(1, 0, 2), /* closed: its pid is another process's now */
      MOV_K(0, -1), EXIT(),
      MOV_K(0, 0), EXIT(),
  };
  long p = load(BPF_PROG_TYPE_SOCKET_FILTER, prog, sizeof prog / sizeof prog[0]);
  if (p < 0) return (int)p;
  int fd = (int)p;
  int r = setsockopt(sock, 1 /* SOL_SOCKET */, 50 /* SO_ATTACH_BPF */, &fd, sizeof fd);
  r = r < 0 ? -*__errno_location() : 0;
  close(fd); /* the socket holds the program */
  return r;
}

