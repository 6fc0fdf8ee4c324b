/*
 * tracer's exec watcher: a native thread that reads a process's argv and cwd the moment it execs.
 *
 * The capture sources drain their netlink sockets from the event loop every few tens of ms; a process
 * that execs and ends in between is gone by then, and its command line with it. This thread blocks in
 * poll() on its own proc-connector socket, filtered in the kernel to exec events, and for every exec
 * of a process it watches reads /proc/PID/cmdline and /proc/PID/cwd at once into a ring the caller
 * empties with xw_take(). It watches the tree below `root`, or with root 0 every process. The tree is
 * followed through a second socket filtered to process forks, which never wakes the thread: it is
 * read on each exec (a fork is queued before any exec of its child) and once a second.
 * A watched pid stays marked after its process ends until its pid is reused by a fork. Below a root,
 * tracer run later swaps the exec socket's classic filter for the scheduler-runtime ledger's eBPF one
 * (schedrt.c sr_filter_execs): execs outside the tree then stop in the kernel.
 *
 * Name filter (daemon runs): with root 0 and a filter, a process becomes watched when an exec of it
 * passes the filter or its parent was watched when it forked. The filter holds names compiled from
 * the recognition rules (src/rules/prefilter.ts): an exec passes when the basename of argv[0], of
 * argv[1] (a script run through its #! line) or its kernel comm equals an `is` name or contains a
 * `contains` name. Other execs are dropped here, so the caller never sees them; it asks xw_may_watch()
 * whether the process of an exec can be in a rule's tree (no, once the thread has judged that exec),
 * and xw_compact() drops the connector messages it does not need. A lost event on either socket
 * (ENOBUFS) makes every process watched from then on: more work, never a missed match. Below a root,
 * so does a lost fork (xw_watched() then answers 1 for every pid: callers that drop what is not
 * watched, tracer run's taskstats filter, keep everything).
 *
 * Compiled at run time by bun:ffi's TinyCC; forward declarations only (a user's machine may have no C
 * headers). The thread never calls into JavaScript; the ring is guarded by a mutex. Functions return
 * -errno or 0 on failure so errno never crosses into JavaScript.
 *
 * Priority: the thread asks for SCHED_FIFO (priority 2), else nice -10. A process that lives under a
 * millisecond is often reaped before a thread of normal priority is scheduled after the exec event
 * (measured: 6-7 % of 5,000 `/bin/true` were gone, 0.4 % zombies, at nice -10 on a loaded 2-core
 * host); a real-time thread preempts them at once (0 of 5,000 missed). Its work per exec is bounded.
 * The thread is created real-time where allowed (not made so by itself once it first runs), and
 * xw_ready returns only once it runs at its priority: the first execs of a command spawned after
 * xw_ready (tracer run's CMD) find it ready, whatever the scheduler did with a new thread. xw_start
 * does not wait for it, so the caller's own set-up overlaps the thread's start.
 *
 * Record layout in the ring (each record starts on an 8-byte boundary):
 *   u32 tgid, u32 argv bytes kept (at most ARGV_CAP), u32 argv bytes in full (as /proc/PID/cmdline
 *   holds them), u16 cwd bytes, u16 read lag (how long after the exec event argv was read, in 10 µs
 *   rounded up, 1..65535; 0 in ffi/execargv.c's records, read in the exec itself), f64 CLOCK_MONOTONIC
 *   ms of the exec, u32 parent's pid (the tgid that forked it, from the fork events, else /proc/PID/stat
 *   field 4), u32 0, f64 start in clock ticks since boot (field 22, read after argv through the same
 *   open of /proc/PID; 0 unknown: the process gone by then, or the kernel's record: its parent 0 too),
 *   argv (NUL-separated as in /proc, cut at ARGV_CAP), cwd.
 */
typedef long ssize_t;
typedef unsigned long size_t;
typedef unsigned long pthread_t;

int pthread_create(pthread_t *thread, const void *attr, void *(*fn)(void *), void *arg);
int pthread_attr_init(void *attr);
int pthread_attr_destroy(void *attr);
int pthread_attr_setinheritsched(void *attr, int inherit);
int pthread_attr_setschedpolicy(void *attr, int policy);
int pthread_attr_setschedparam(void *attr, const void *param);
int pthread_join(pthread_t thread, void **ret);
int pthread_mutex_lock(void *mutex);
int pthread_mutex_unlock(void *mutex);
int pthread_mutexattr_init(void *attr);
int pthread_mutexattr_setprotocol(void *attr, int protocol);
int pthread_mutexattr_destroy(void *attr);
int pthread_mutex_init(void *mutex, const void *attr);
void *calloc(size_t n, size_t size);
void *malloc(size_t size);
void free(void *p);
void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
int open(const char *path, int flags, ...);
int openat(int dir, const char *path, int flags, ...);
ssize_t read(int fd, void *buf, size_t n);
ssize_t readlinkat(int dir, const char *path, char *buf, size_t n);
ssize_t recv(int fd, void *buf, size_t n, int flags);
int recvmmsg(int fd, void *msgs, unsigned int n, int flags, void *timeout);
ssize_t write(int fd, const void *buf, size_t n);
int close(int fd);
int pipe2(int *fds, int flags);
int poll(void *fds, unsigned long n, int timeout);
int *__errno_location(void);
int setpriority(int which, unsigned int who, int prio);
int sched_setscheduler(int pid, int policy, const void *param);
int setsockopt(int fd, int level, int name, const void *value, unsigned int len);
int clock_gettime(int clock, void *ts);

#define CLOCK_MONOTONIC 1
#define CLOCK_BOOTTIME 7
#define LAG_UNIT_NS 10000ull /* a record's read lag: u16 of 10 µs, rounded up (65535: that or later) */
#define O_RDONLY 0
#define O_NONBLOCK 04000
#define O_CLOEXEC 02000000
#define O_PATH 010000000 /* x86-64 and arm64 alike */
#define POLLIN 1
#define MSG_DONTWAIT 0x40
#define EINTR 4
#define ENOBUFS 105

#define PID_LIMIT (1 << 22) /* PID_MAX_LIMIT on 64-bit Linux */
#define ARGV_CAP 65536 /* bytes of argv kept: src/observe/argv.ts ARGV_CAP_BYTES */
#define SKIP_BYTES 16384
#define HEAD 40
#define CWD_MAX 4096 /* PATH_MAX: readlink of /proc/PID/cwd gives at most 4,095 bytes */
#define RX_BYTES 262144
#define XW_NICE -10
#define SCHED_FIFO 1
#define PTHREAD_EXPLICIT_SCHED 1 /* glibc and musl */
#define XW_RT_PRIORITY 2 /* above the orphan reaper's 1 (ffi/reaper.c): a zombie can wait a few µs, an exec read cannot */

#define MAX_CPUS 256 /* xw_compact drops messages of CPUs below this only */
#define NLMSG_DONE 3
#define PROC_EVENT_EXIT 0x80000000u
#define JUDGED 65536 /* slots of the judged table: no collision while pid_max is at most this */
#define PARENTS 65536 /* slots of the fork-parent table (pid % PARENTS; a slot holds its pid: no guess) */
#define PROC_EVENT_FORK 0x00000001
#define PROC_EVENT_EXEC 0x00000002

struct xw_filter {
  unsigned short code;
  unsigned char jt;
  unsigned char jf;
  unsigned int k;
};

struct xw_fprog {
  unsigned short len;
  struct xw_filter *filter;
};

/* One exec the thread has handled (with a filter): which pid, the event's CLOCK_MONOTONIC ns, and
 * whether the pid was watched then (a pid given to another process since is unwatched by that fork:
 * the exec, and the exit after it, are still the watched process's). */
struct xw_judged {
  unsigned long long ns;
  unsigned int pid;
  unsigned int watched;
};

/* recvmmsg's vector (struct iovec, struct msghdr and struct mmsghdr of the Linux ABI, 64-bit) */
struct xw_iovec {
  void *base;
  size_t len;
};
struct xw_msghdr {
  void *name;
  unsigned int namelen;
  struct xw_iovec *iov;
  size_t iovlen;
  void *control;
  size_t controllen;
  int flags;
};
struct xw_mmsghdr {
  struct xw_msghdr hdr; /* 56 bytes: len starts after its tail padding */
  unsigned int len;
};
#define FORK_BATCH 64 /* datagrams per recvmmsg of the fork socket, each in RX_BYTES / FORK_BATCH */

struct xw_pollfd {
  int fd;
  short events;
  short revents;
};

/* A mutex that the real-time thread shares with the caller's thread: priority-inheriting where the C
 * library can (a caller thread that holds it runs at the waiting thread's priority until it lets go),
 * else the default one. The caller's thread runs at normal priority beside CMD's processes: holding
 * the fork mutex over a drain (xw_compact, a whole connector buffer) it can be put aside by the
 * scheduler for a time slice while the thread waits, and a short process's exec goes unread. (Not
 * measured apart: on this VM the hypervisor's steal time misses more of them, see
 * tests/observe/execwatch-start.test.ts.) */
#define PTHREAD_PRIO_INHERIT 1
static void shared_mutex(void *m) {
  unsigned long long attr[2]; /* pthread_mutexattr_t: 4 bytes in glibc and musl */
  if (pthread_mutexattr_init(attr) != 0) return; /* the zeroed mutex stays: the default kind */
  if (pthread_mutexattr_setprotocol(attr, PTHREAD_PRIO_INHERIT) == 0) pthread_mutex_init(m, attr);
  pthread_mutexattr_destroy(attr);
}

struct xw {
  unsigned char mutex[64]; /* the ring (shared_mutex) */
  unsigned char fork_mutex[64]; /* held while the fork socket is drained (thread, xw_sync, xw_compact) */
  pthread_t thread;
  int sock; /* exec events */
  unsigned int root; /* the watched tree's root (0: none) */
  int forks; /* fork events of processes; -1 when every process is watched */
  int wake[2];
  int ready[2]; /* the thread writes a byte once at its priority; xw_ready waits for it */
  volatile int all;
  char *filter; /* '=' or '~' then a name then NUL, repeated; 0: no name filter */
  int filter_len;
  struct xw_judged *judged; /* with a filter: the latest exec handled per pid slot (pid % JUDGED) */
  unsigned int *parents; /* with the fork socket: pid, then the tgid that forked it, per slot (pid % PARENTS) */
  unsigned long long done_ns; /* timestamp of the latest exec event handled (fork_mutex held) */
  unsigned int dropped[MAX_CPUS]; /* xw_compact: messages of each CPU dropped so far */
  unsigned char *watched; /* bitmap of watched tgids (unused when all) */
  unsigned char *ring;
  int cap;
  int used;
  unsigned char *rx;
  unsigned char *frx; /* receive buffer of the fork socket */
  struct xw_iovec fiov[FORK_BATCH]; /* frx cut in FORK_BATCH slots */
  struct xw_mmsghdr fmsg[FORK_BATCH];
  char argv[ARGV_CAP];
  char skip[SKIP_BYTES];
  char cwd[CWD_MAX];
};

static unsigned int u32_at(const unsigned char *p) {
  unsigned int v;
  memcpy(&v, p, 4);
  return v;
}

static int is_watched(struct xw *w, unsigned int pid) {
  if (w->all) return 1;
  return pid < PID_LIMIT && (w->watched[pid >> 3] & (1 << (pid & 7)));
}

static void watch_pid(struct xw *w, unsigned int pid) {
  if (!w->all && pid < PID_LIMIT) w->watched[pid >> 3] |= (unsigned char)(1 << (pid & 7));
}

static void unwatch_pid(struct xw *w, unsigned int pid) {
  if (!w->all && pid < PID_LIMIT) w->watched[pid >> 3] &= (unsigned char)~(1 << (pid & 7));
}

/* s[0..n) contains the NUL-terminated `needle`? */
static int contains(const char *s, int n, const char *needle) {
  int k = 0, i, j;
  while (needle[k]) k++;
  for (i = 0; i + k <= n; i++) {
    for (j = 0; j < k && s[i + j] == needle[j]; j++) {
    }
    if (j == k) return 1;
  }
  return 0;
}

/* Does the name s[0..n) pass the filter? */
static int name_passes(struct xw *w, const char *s, int n) {
  int at = 0;
  while (at < w->filter_len && w->filter[at]) {
    const char *name = w->filter + at + 1;
    int k = 0;
    while (name[k]) k++;
    if (w->filter[at] == '=' ? (k == n && contains(s, n, name)) : contains(s, n, name)) return 1;
    at += k + 2;
  }
  return 0;
}

/* The basename of the NUL-terminated string at s[0..end): its start, length in *n. */
static const char *base_of(const char *s, int end, int *n) {
  int i, len = 0, b = 0;
  while (len < end && s[len]) len++;
  for (i = 0; i < len; i++)
    if (s[i] == '/') b = i + 1;
  *n = len - b;
  return s + b;
}

/* "/proc/<pid>/<leaf>" into out (at least 32 bytes). */
static void proc_path(char *out, unsigned int pid, const char *leaf) {
  char digits[12];
  int n = 0, i = 0, j;
  const char *pre = "/proc/";
  do {
    digits[n++] = (char)('0' + pid % 10);
    pid /= 10;
  } while (pid && n < 11);
  for (j = 0; pre[j]; j++) out[i++] = pre[j];
  while (n) out[i++] = digits[--n];
  out[i++] = '/';
  for (j = 0; leaf[j]; j++) out[i++] = leaf[j];
  out[i] = 0;
}

static ssize_t read_retry(int fd, char *buf, int n) {
  ssize_t r;
  do {
    r = read(fd, buf, (size_t)n);
  } while (r < 0 && *__errno_location() == EINTR);
  return r;
}

/* /proc/PID/cmdline: up to ARGV_CAP bytes into w->argv (*kept), and the whole length (*full): past the
 * cap the rest is read and counted only. One read(): the kernel copies the whole argv per call (its
 * get_mm_cmdline loops until the count asked for is filled or the command line ends), so a read that
 * fills less than asked has reached the end, and the read() that would return 0 is not made (a system
 * call at every exec). Returns -1 when the process is gone. */
static int read_argv(struct xw *w, int dir, int *kept, int *full) {
  int fd = openat(dir, "cmdline", O_RDONLY | O_CLOEXEC);
  ssize_t r;
  *kept = 0;
  *full = 0;
  if (fd < 0) return -1;
  while (*kept < ARGV_CAP && (r = read_retry(fd, w->argv + *kept, ARGV_CAP - *kept)) > 0) {
    *kept += (int)r;
    if (*kept < ARGV_CAP) break;
  }
  *full = *kept;
  if (*kept == ARGV_CAP)
    while ((r = read_retry(fd, w->skip, SKIP_BYTES)) > 0) *full += (int)r;
  close(fd);
  return 0;
}

/* An exec of a process not watched: does one of its names pass the filter? (argv read already) */
static int exec_passes(struct xw *w, int dir, int argv_len) {
  char comm[32];
  const char *b;
  int n, fd, first = 0;
  b = base_of(w->argv, argv_len, &n);
  if (name_passes(w, b, n)) return 1;
  while (first < argv_len && w->argv[first]) first++;
  if (first + 1 < argv_len) {
    b = base_of(w->argv + first + 1, argv_len - first - 1, &n);
    if (name_passes(w, b, n)) return 1;
  }
  fd = openat(dir, "comm", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  n = (int)read_retry(fd, comm, (int)sizeof comm);
  close(fd);
  if (n > 0 && comm[n - 1] == '\n') n--;
  return n > 0 && name_passes(w, comm, n);
}

/* How long after the exec event (`ns`, CLOCK_MONOTONIC) this moment is, in LAG_UNIT_NS rounded up: at
 * least 1 (a read of /proc, not the kernel's in the exec itself, whose records carry 0), at most 65535. */
static unsigned int lag_since(unsigned long long ns) {
  long ts[2];
  unsigned long long now, units;
  clock_gettime(CLOCK_MONOTONIC, ts);
  now = (unsigned long long)ts[0] * 1000000000ull + (unsigned long long)ts[1];
  units = now > ns ? (now - ns + LAG_UNIT_NS - 1) / LAG_UNIT_NS : 1;
  return units < 1 ? 1 : units > 65535 ? 65535 : (unsigned int)units;
}

/* What /proc/PID/stat says of the process read: 0 as it should be, 1 in a tracing stop ('t'), -1 not
 * the process that exec'd at `ns` (CLOCK_MONOTONIC): it started after that exec (its pid reused by a
 * process made with that pid on purpose: clone3 set_tid, ns_last_pid; its argv read for the earlier
 * one's exec was another process's, found by an attack, 2 Dec 2026).
 * A ptracer's PTRACE_EVENT_EXEC stop comes before the exec's event is sent, with /proc showing the new
 * image all the while: a read of an earlier exec's argv made then shows the later image, and its time
 * proves nothing (found by an attack, 2 Dec 2026: a chain at SCHED_FIFO 10 held 50 ms at each exec).
 * Field 22, the start in clock ticks (USER_HZ, 100) since boot (CLOCK_BOOTTIME), is truncated: the
 * exec'ing process's never exceeds the exec's time on that clock. Its parent's pid (field 4) and that
 * start go to *ppid and *start (left 0 when the process was gone: the daemon records a short tool its
 * rules match from this read, its parent unwatched and the process gone by its drain). */
static int stat_check(int dir, unsigned long long ns, unsigned int *ppid, unsigned long long *start_out) {
  char buf[1024];
  int fd, n, i, field, state;
  long ts[2];
  unsigned long long start = 0, parent = 0, boot, mono;
  fd = openat(dir, "stat", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0; /* gone since its argv was read: that read stands */
  n = (int)read_retry(fd, buf, (int)sizeof buf);
  close(fd);
  for (i = n - 1; i > 0 && buf[i] != ')'; i--) {} /* comm may hold ')': the last one ends it */
  if (i <= 0 || i + 2 >= n) return 0;
  state = buf[i + 2];
  /* after ") ": field 3 (state) ... field 22 (starttime) */
  for (field = 3, i += 2; i < n && field < 22; i++) {
    if (buf[i] == ' ') field++;
    else if (field == 4 && buf[i] >= '0' && buf[i] <= '9') parent = parent * 10 + (unsigned long long)(buf[i] - '0');
  }
  for (; i < n && buf[i] >= '0' && buf[i] <= '9'; i++) start = start * 10 + (unsigned long long)(buf[i] - '0');
  clock_gettime(CLOCK_BOOTTIME, ts);
  boot = (unsigned long long)ts[0] * 1000000000ull + (unsigned long long)ts[1];
  clock_gettime(CLOCK_MONOTONIC, ts);
  mono = (unsigned long long)ts[0] * 1000000000ull + (unsigned long long)ts[1];
  if (field == 22 && start * 10000000ull > ns + (boot > mono ? boot - mono : 0)) return -1;
  if (field == 22 && i < n && buf[i] == ' ' && parent <= 0xffffffffull) {
    *ppid = (unsigned int)parent;
    *start_out = start;
  }
  return state == 't';
}

/* The tgid that forked `tgid`, from the fork events the thread has handled (the connector's, exact
 * even when that parent has died since and /proc shows a reaper); 0 unknown: no fork socket, forks
 * lost, or its slot taken by another pid since. */
static unsigned int forked_by(struct xw *w, unsigned int tgid) {
  unsigned int *slot;
  if (!w->parents || w->all) return 0;
  slot = w->parents + 2 * (tgid % PARENTS);
  return slot[0] == tgid ? slot[1] : 0;
}

/* Every read goes through one open of /proc/PID (O_PATH): the kernel ties that directory to the
 * process it showed, so once that process is reaped, the reads below fail instead of showing another
 * process given its pid meanwhile (clone3 set_tid while the thread counted a long argv: its parent,
 * start and cwd were taken for this one's; found by an attack, 2 Dec 2026). */
static void capture(struct xw *w, unsigned int tgid, unsigned long long ns) {
  char path[40];
  int argv_len, argv_full, cwd_len, size, dir;
  unsigned int lens[3], lag, ppid = 0, parent, zero = 0;
  unsigned long long start = 0;
  double start_ticks;
  int stat;
  double at_ms = (double)ns / 1e6;
  proc_path(path, tgid, "");
  dir = open(path, O_PATH | O_CLOEXEC);
  if (dir < 0) return; /* gone already */
  if (read_argv(w, dir, &argv_len, &argv_full) < 0 || argv_len <= 0) {
    close(dir);
    return; /* gone already, or a zombie: nothing to keep */
  }
  /* when the read was done: a process that exec'd again before it (the thread runs late under load)
   * showed the later image, which the recorder must not take for this exec's (its priorArgv) */
  lag = lag_since(ns);
  if (!is_watched(w, tgid)) {
    if (!exec_passes(w, dir, argv_len)) {
      close(dir);
      return;
    }
    watch_pid(w, tgid);
  }
  /* another process's by now: nothing kept; read in a tracing stop: as late as can be (its time proves
   * nothing) */
  stat = stat_check(dir, ns, &ppid, &start);
  if (stat < 0) {
    close(dir);
    return;
  }
  start_ticks = (double)start;
  if (stat) lag = 65535;
  /* the parent that forked it, where the fork was seen: /proc's is its reaper once that parent died */
  parent = forked_by(w, tgid);
  if (parent) ppid = parent;
  cwd_len = (int)readlinkat(dir, "cwd", w->cwd, CWD_MAX);
  close(dir);
  if (cwd_len < 0 || cwd_len >= CWD_MAX) cwd_len = 0; /* a full buffer may be cut short: not kept */
  size = (HEAD + argv_len + cwd_len + 7) & ~7;
  lens[0] = (unsigned int)argv_len;
  lens[1] = (unsigned int)argv_full;
  lens[2] = (unsigned int)cwd_len | lag << 16; /* u16 cwd bytes, then u16 read lag (little-endian) */
  pthread_mutex_lock(w->mutex);
  /* a full ring drops the record: the recorder then reads /proc as it would without the watcher */
  if (w->used + size <= w->cap) {
    unsigned char *r = w->ring + w->used;
    memcpy(r, &tgid, 4);
    memcpy(r + 4, lens, 12);
    memcpy(r + 16, &at_ms, 8);
    memcpy(r + 24, &ppid, 4);
    memcpy(r + 28, &zero, 4);
    memcpy(r + 32, &start_ticks, 8);
    memcpy(r + HEAD, w->argv, (size_t)argv_len);
    memcpy(r + HEAD + argv_len, w->cwd, (size_t)cwd_len);
    w->used += size;
  }
  pthread_mutex_unlock(w->mutex);
}

/* One datagram of netlink messages from the proc connector. */
static void handle(struct xw *w, const unsigned char *buf, int n) {
  int at = 0;
  while (n - at >= 16) {
    unsigned int len = u32_at(buf + at);
    const unsigned char *ev = buf + at + 36; /* nlmsghdr(16) + cn_msg(20) */
    if (len < 16 || len > (unsigned int)(n - at)) return;
    if (len >= 36 + 16 + 8 && u32_at(buf + at + 16) == 1 && u32_at(buf + at + 20) == 1) {
      unsigned int what = u32_at(ev);
      unsigned long long ns;
      memcpy(&ns, ev + 8, 8);
      if (what == PROC_EVENT_FORK && len >= 36 + 16 + 16) {
        unsigned int ptgid = u32_at(ev + 20), pid = u32_at(ev + 24), tgid = u32_at(ev + 28);
        if (pid == tgid) {
          if (w->parents) {
            unsigned int *slot = w->parents + 2 * (tgid % PARENTS);
            slot[0] = tgid;
            slot[1] = ptgid;
          }
          if (is_watched(w, ptgid)) watch_pid(w, tgid);
          /* a reused pid: the new process is not the old one (the root stays, its fork may come late) */
          else if (tgid != w->root) unwatch_pid(w, tgid);
        }
      } else if (what == PROC_EVENT_EXEC) {
        unsigned int pid = u32_at(ev + 16), tgid = u32_at(ev + 20);
        if (pid == tgid && (w->filter || is_watched(w, tgid))) capture(w, tgid, ns);
        if (pid == tgid && w->judged) {
          /* after the watched bit: a reader that finds this exec here finds the bit (x86-TSO order) */
          struct xw_judged *j = &w->judged[tgid % JUDGED];
          j->pid = 0;
          memcpy(&j->ns, ev + 8, 8);
          j->watched = (unsigned int)is_watched(w, tgid);
          j->pid = tgid;
        }
        if (ns > w->done_ns) w->done_ns = ns;
      }
    }
    at += (int)((len + 3) & ~3u);
  }
}

/* Handle what is queued on `sock` without blocking: everything, or (once) a single datagram. Each
 * system call counts here: the thread runs once per exec on the host. */
static void drain(struct xw *w, int sock, int once, unsigned char *rx) {
  for (;;) {
    ssize_t got = recv(sock, rx, RX_BYTES, MSG_DONTWAIT);
    if (got < 0) {
      int e = *__errno_location();
      /* events lost: the filter's tree, or the forks that follow the root's, are incomplete */
      if (e == ENOBUFS && (w->filter || sock == w->forks)) w->all = 1;
      if (e == EINTR || e == ENOBUFS) continue; /* an overrun only costs those execs their early read */
      return; /* EAGAIN */
    }
    handle(w, rx, (int)got);
    if (once) return;
  }
}

/* Forks: from the thread (before each exec) or xw_sync (the caller's thread), with fork_mutex held.
 * recvmmsg takes what is queued, up to FORK_BATCH datagrams, in one system call and returns without
 * the EAGAIN a last recv() would need (the thread drains the forks at every exec: one call, not two).
 * An error after some datagrams is kept by the kernel for the next call (ENOBUFS included). */
static void drain_forks(struct xw *w) {
  int i, got;
  for (;;) {
    for (i = 0; i < FORK_BATCH; i++) {
      w->fmsg[i].hdr.name = 0;
      w->fmsg[i].hdr.namelen = 0;
      w->fmsg[i].hdr.iov = &w->fiov[i];
      w->fmsg[i].hdr.iovlen = 1;
      w->fmsg[i].hdr.control = 0;
      w->fmsg[i].hdr.controllen = 0;
      w->fmsg[i].hdr.flags = 0;
      w->fmsg[i].len = 0;
    }
    got = recvmmsg(w->forks, w->fmsg, FORK_BATCH, MSG_DONTWAIT, 0);
    if (got < 0) {
      int e = *__errno_location();
      if (e == ENOBUFS) w->all = 1; /* forks lost: the tree is incomplete (see drain) */
      if (e == EINTR || e == ENOBUFS) continue;
      return; /* EAGAIN */
    }
    for (i = 0; i < got; i++) handle(w, (const unsigned char *)w->fiov[i].base, (int)w->fmsg[i].len);
    if (got < FORK_BATCH) return;
  }
}

static void *xw_main(void *arg) {
  struct xw *w = (struct xw *)arg;
  struct xw_pollfd p[2];
  /* Woken first when a process execs, so its /proc entry is read before a short one ends (see the top).
   * On Linux the policy and the nice value belong to a thread, and pid/who 0 is the caller: only this
   * thread changes. Failure (no CAP_SYS_NICE, RLIMIT_RTPRIO 0) leaves it at the process's priority. */
  int rt_priority = XW_RT_PRIORITY;
  char c = 1;
  if (sched_setscheduler(0, SCHED_FIFO, &rt_priority) != 0) setpriority(0, 0, XW_NICE);
  write(w->ready[1], &c, 1);
  for (;;) {
    int r;
    p[0].fd = w->sock;
    p[0].events = POLLIN;
    p[0].revents = 0;
    p[1].fd = w->wake[0];
    p[1].events = POLLIN;
    p[1].revents = 0;
    r = poll(p, 2, 1000);
    if (r < 0) {
      if (*__errno_location() == EINTR) continue;
      return 0;
    }
    if (p[1].revents) return 0;
    /* the watched bitmap changes only with fork_mutex held (xw_sync runs on another thread) */
    pthread_mutex_lock(w->fork_mutex);
    if (w->forks >= 0) drain_forks(w);
    /* one exec per wake: poll() returns at once while more are queued */
    if (p[0].revents) drain(w, w->sock, 1, w->rx);
    pthread_mutex_unlock(w->fork_mutex);
  }
}

/* Classic BPF loads words in network order: the kernel's host-order constants, byte-swapped on a
 * little-endian host. */
static unsigned int net32(unsigned int v) {
  unsigned int one = 1;
  if (*(unsigned char *)&one == 0) return v;
  return (v >> 24) | ((v >> 8) & 0xff00) | ((v << 8) & 0xff0000) | (v << 24);
}

/* Let the kernel drop what the thread never needs: the exec socket keeps exec events only, the fork
 * socket forks of processes (not threads) only; exits, ACKs and other event types stay in the kernel.
 * Offsets from the nlmsghdr: proc_event.what at 36, fork's child_pid at 60 and child_tgid at 64. Best
 * effort: without a filter the thread does more work, not different work. */
static void attach_filter(int sock, int forks) {
  struct xw_filter code[9];
  struct xw_fprog prog;
  int i;
  for (i = 0; i < 9; i++) {
    code[i].jt = 0;
    code[i].jf = 0;
    code[i].k = 0;
  }
  code[0].code = 0x20; code[0].k = 36;                                     /* ld what */
  code[1].code = 0x15; code[1].k = net32(forks ? PROC_EVENT_FORK : PROC_EVENT_EXEC);
  code[1].jt = forks ? 0 : 4; code[1].jf = 5;                              /* else drop */
  code[2].code = 0x20; code[2].k = 60;                                     /* ld child_pid */
  code[3].code = 0x07;                                                     /* tax */
  code[4].code = 0x20; code[4].k = 64;                                     /* ld child_tgid */
  code[5].code = 0x1d; code[5].jf = 1;                                     /* pid == tgid? */
  code[6].code = 0x06; code[6].k = 0xffffffffu;                            /* keep */
  code[7].code = 0x06; code[7].k = 0;                                      /* drop */
  prog.len = 8;
  prog.filter = code;
  setsockopt(sock, 1 /* SOL_SOCKET */, 26 /* SO_ATTACH_FILTER */, &prog, sizeof prog);
}

static void release_watch(struct xw *w) {
  if (w->wake[0] >= 0) close(w->wake[0]);
  if (w->wake[1] >= 0) close(w->wake[1]);
  if (w->ready[0] >= 0) close(w->ready[0]);
  if (w->ready[1] >= 0) close(w->ready[1]);
  free(w->watched);
  free(w->ring);
  free(w->rx);
  free(w->frx);
  free(w->filter);
  free(w->judged);
  free(w->parents);
  free(w);
}

/* Start xw_main: real-time from its creation where allowed (the first exec events already find it at
 * its priority), else at the process's and it lowers its nice value itself. Returns pthread_create's. */
static int start_thread(struct xw *w) {
  unsigned long long attr[16]; /* a pthread_attr_t: 56 bytes in glibc, at most that in musl */
  int rt_priority = XW_RT_PRIORITY, made = -1;
  if (pthread_attr_init(attr) == 0) {
    if (pthread_attr_setinheritsched(attr, PTHREAD_EXPLICIT_SCHED) == 0 &&
        pthread_attr_setschedpolicy(attr, SCHED_FIFO) == 0 && pthread_attr_setschedparam(attr, &rt_priority) == 0)
      made = pthread_create(&w->thread, attr, xw_main, w);
    pthread_attr_destroy(attr);
  }
  if (made != 0) made = pthread_create(&w->thread, 0, xw_main, w);
  return made;
}

/* Start watching: `sock` for execs, `forks` for forks (-1 with root 0 and no filter: every process is
 * watched). Both are subscribed, non-blocking proc-connector sockets the caller keeps open until
 * xw_stop. `filter` (filter_len bytes, see the top; copied) applies with root 0 only. Returns the
 * watch, or 0. */
void *xw_start(int sock, int forks, unsigned int root, int ring_bytes, const char *filter, int filter_len) {
  struct xw *w = (struct xw *)calloc(1, sizeof(struct xw));
  if (!w) return 0;
  w->sock = sock;
  shared_mutex(w->mutex);
  shared_mutex(w->fork_mutex);
  if (root == 0 && filter_len > 0 && forks >= 0) {
    w->filter = (char *)malloc((size_t)filter_len + 1);
    if (!w->filter) {
      free(w);
      return 0;
    }
    memcpy(w->filter, filter, (size_t)filter_len);
    w->filter[filter_len] = 0;
    w->filter_len = filter_len;
    w->judged = (struct xw_judged *)calloc(JUDGED, sizeof(struct xw_judged));
    if (!w->judged) {
      free(w->filter);
      free(w);
      return 0;
    }
  }
  w->all = root == 0 && !w->filter;
  w->forks = w->all ? -1 : forks;
  /* 512 KiB, its pages touched only as pids fall in them; none: parents from /proc alone */
  if (w->forks >= 0) w->parents = (unsigned int *)calloc(2 * PARENTS, sizeof(unsigned int));
  w->wake[0] = w->wake[1] = w->ready[0] = w->ready[1] = -1;
  w->cap = ring_bytes;
  w->ring = (unsigned char *)malloc((size_t)ring_bytes);
  w->rx = (unsigned char *)malloc(RX_BYTES);
  w->frx = (unsigned char *)malloc(RX_BYTES);
  for (int i = 0; w->frx && i < FORK_BATCH; i++) {
    w->fiov[i].base = w->frx + (size_t)i * (RX_BYTES / FORK_BATCH);
    w->fiov[i].len = RX_BYTES / FORK_BATCH;
  }
  w->watched = w->all ? 0 : (unsigned char *)calloc(PID_LIMIT / 8, 1);
  if (!w->ring || !w->rx || !w->frx || (!w->all && (!w->watched || forks < 0)) ||
      pipe2(w->wake, O_CLOEXEC | O_NONBLOCK) < 0 || pipe2(w->ready, O_CLOEXEC) < 0) {
    release_watch(w);
    return 0;
  }
  attach_filter(sock, 0);
  if (w->forks >= 0) attach_filter(w->forks, 1);
  w->root = root;
  if (root) watch_pid(w, root);
  if (start_thread(w) != 0) {
    release_watch(w);
    return 0;
  }
  return w;
}

/* Wait until the thread runs at its priority (at once after the first call): from then on an exec
 * wakes it at once. */
void xw_ready(void *watch) {
  struct xw *w = (struct xw *)watch;
  char c;
  if (w->ready[0] < 0) return;
  while (read(w->ready[0], &c, 1) < 0 && *__errno_location() == EINTR) {
  }
  close(w->ready[0]);
  close(w->ready[1]);
  w->ready[0] = w->ready[1] = -1;
}

/* Move the oldest records that fit whole into out[0..cap) (cap at least XW_RECORD_MAX: any record
 * fits), the others to the ring's front for the next call: the caller's buffer need not be as large
 * as the ring. Returns bytes, 0 when the ring is empty. */
int xw_take(void *watch, unsigned char *out, int cap) {
  struct xw *w = (struct xw *)watch;
  int n = 0;
  pthread_mutex_lock(w->mutex);
  while (n + HEAD <= w->used) {
    unsigned int argv_len;
    unsigned short cwd_len;
    memcpy(&argv_len, w->ring + n + 4, 4);
    memcpy(&cwd_len, w->ring + n + 12, 2);
    int size = (int)((HEAD + argv_len + cwd_len + 7) & ~7u);
    if (n + size > cap) break;
    n += size;
  }
  if (n) {
    memcpy(out, w->ring, (size_t)n);
    memmove(w->ring, w->ring + n, (size_t)(w->used - n));
    w->used -= n;
  }
  pthread_mutex_unlock(w->mutex);
  return n;
}

/* Ask the thread to end without waiting for it (xw_stop joins it later, by then at once): it stops
 * reading execs, while xw_take still empties what it has read. */
void xw_stop_soon(void *watch) {
  struct xw *w = (struct xw *)watch;
  char c = 1;
  write(w->wake[1], &c, 1);
}

/* Wake the thread, wait for it to end, free everything. The caller closes the sockets afterwards. */
void xw_stop(void *watch) {
  struct xw *w = (struct xw *)watch;
  char c = 1;
  write(w->wake[1], &c, 1);
  pthread_join(w->thread, 0);
  release_watch(w);
}

/* Can `pid` be in a watched tree? 1 or 0 (every pid once events were lost, or with no filter). */
int xw_watched(void *watch, unsigned int pid) {
  return is_watched((struct xw *)watch, pid);
}

/* Can the process whose exec happened at `ms` (CLOCK_MONOTONIC) be in a watched tree? 0 only when the
 * thread has handled that exec (or a later one of the pid) and does not watch the pid; 1 otherwise,
 * also while the thread has not got to it yet. The judged entry is read before the bit (see handle). */
int xw_may_watch(void *watch, unsigned int pid, double ms, double slack_ms) {
  struct xw *w = (struct xw *)watch;
  struct xw_judged *j;
  double seen;
  unsigned int who, watched;
  if (!w->judged) return 1;
  j = &w->judged[pid % JUDGED];
  who = j->pid;
  seen = (double)j->ns / 1e6;
  watched = j->watched;
  if (j->pid != who) return 1; /* being rewritten */
  if (is_watched(w, pid)) return 1;
  return !(who == pid && seen >= ms - slack_ms && !watched);
}

/* Read the forks queued now, so xw_watched() knows every process forked before this call. */
void xw_sync(void *watch) {
  struct xw *w = (struct xw *)watch;
  if (w->forks < 0) return;
  pthread_mutex_lock(w->fork_mutex);
  drain_forks(w);
  pthread_mutex_unlock(w->fork_mutex);
}

/* Below a root (tracer run, threads wanted): the fork, exec and exit events of the tree's processes
 * and their threads; any other message is kept. The forks queued are read first (xw_compact), so a
 * process forked in the tree is watched before any event of it is looked at here. An exit is also kept
 * when its parent is watched (kernel >= 4.18 sends it): the process's own pid could only have been
 * taken by a new process outside the tree if the kernel reallocated it since its reap, within a drain
 * interval. */
static int needed_below_root(struct xw *w, const unsigned char *m, unsigned int len, unsigned int what) {
  if (what == PROC_EVENT_FORK) return len < 68 || is_watched(w, u32_at(m + 56)) || is_watched(w, u32_at(m + 64));
  if (what == PROC_EVENT_EXEC) return is_watched(w, u32_at(m + 56));
  if (what == PROC_EVENT_EXIT) return is_watched(w, u32_at(m + 56)) || (len >= 76 && is_watched(w, u32_at(m + 72)));
  return 1;
}

/* Does the recorder need this connector message? With a name filter (daemon runs, threads not
 * wanted): proc events of threads, and of processes outside every watched tree that the thread has
 * judged (a fork: forked before the last exec it handled), it does not. Below a root: see needed_below_root. */
static int needed(struct xw *w, const unsigned char *m, unsigned int len) {
  unsigned int what, pid, tgid;
  unsigned long long ns;
  struct xw_judged *j;
  if (len < 60 || (u32_at(m + 4) & 0xffff) != NLMSG_DONE || u32_at(m + 16) != 1 || u32_at(m + 20) != 1)
    return 1;
  what = u32_at(m + 36);
  if (!w->judged) return needed_below_root(w, m, len, what);
  memcpy(&ns, m + 44, 8);
  if (what == PROC_EVENT_FORK) {
    if (len < 68) return 1;
    pid = u32_at(m + 60);
    tgid = u32_at(m + 64);
    /* a process forked after the last exec the thread handled may exec a watched name next (a drain
     * between a fork and its exec, ~2 ms apart, dropped the fork of a matched tool: its exact start) */
    return pid == tgid && (is_watched(w, u32_at(m + 56)) || is_watched(w, tgid) || w->done_ns < ns);
  }
  pid = u32_at(m + 52);
  tgid = u32_at(m + 56);
  if (what == PROC_EVENT_EXEC) {
    if (pid != tgid) return 0;
    if (is_watched(w, tgid)) return 1;
    j = &w->judged[tgid % JUDGED];
    /* not judged yet: the recorder decides; judged: as it was then (watched, its pid given to another
     * process since: a matched tool whose pid a clone3 set_tid took lost its exec, found by an attack) */
    return !(j->pid == tgid && j->ns >= ns) || j->watched;
  }
  if (what == PROC_EVENT_EXIT) {
    if (pid != tgid) return 0;
    /* an exit after the last exec the thread handled may end a process it has not judged yet; one of a
     * pid whose last exec was watched may end that process, its pid unwatched since by another's fork */
    j = &w->judged[tgid % JUDGED];
    return is_watched(w, tgid) || w->done_ns < ns || (j->pid == tgid && j->watched && j->ns <= ns);
  }
  return 1;
}

/* Copy into out[] the messages of a drained proc-connector buffer (back-to-back, 4-byte aligned) that
 * the recorder needs. Each CPU numbers its messages (cn_msg.seq) and the caller counts a jump as loss:
 * so the sequence number of every message kept is lowered by the number of messages of that CPU
 * dropped here so far, and only what the kernel dropped still shows as a jump. out needs n + 4 bytes.
 * Forks queued now are read first. Watching every process (root 0, no filter) everything is copied
 * as is; once events were lost, everything is copied (still renumbered). Returns the bytes written. */
int xw_compact(void *watch, const unsigned char *buf, int n, unsigned char *out) {
  struct xw *w = (struct xw *)watch;
  int at = 0, o = 0;
  if (!w->judged && !w->root) {
    memcpy(out, buf, (size_t)n);
    return n;
  }
  pthread_mutex_lock(w->fork_mutex);
  if (w->forks >= 0) drain_forks(w);
  while (n - at >= 16) {
    unsigned int len = u32_at(buf + at);
    int size = (int)((len + 3) & ~3u);
    int proc = len >= 44 && (u32_at(buf + at + 4) & 0xffff) == NLMSG_DONE && u32_at(buf + at + 16) == 1 &&
               u32_at(buf + at + 20) == 1;
    unsigned int cpu = proc ? u32_at(buf + at + 40) : MAX_CPUS;
    if (len < 16 || len > (unsigned int)(n - at)) break;
    if (cpu < MAX_CPUS && !w->all && !needed(w, buf + at, len)) {
      w->dropped[cpu]++;
    } else {
      memcpy(out + o, buf + at, (size_t)len);
      if (cpu < MAX_CPUS) {
        unsigned int seq = u32_at(buf + at + 24) - w->dropped[cpu];
        memcpy(out + o + 24, &seq, 4);
      }
      o += size;
    }
    at += size;
  }
  pthread_mutex_unlock(w->fork_mutex);
  return o;
}

/* Of a drained taskstats buffer (back-to-back messages, 4-byte aligned), copy into out[] every message
 * but the exit records of processes outside the watched trees: a record in the kernel's usual layout
 * (genl header, AGGR_PID { PID, STATS } with struct taskstats version >= 12, as tracer's peekIds reads
 * it) whose tgid and parent are both unwatched is dropped; anything else (other shapes, the drain's
 * ENOBUFS / truncation markers) is kept for the caller's own filter. The host's every exit comes
 * through here: deciding it in C saves the recorder a DataView, two FFI calls and an object per record.
 * Forks queued now are read first. out may be buf itself (compacted in place: no second buffer held
 * for the run's peak RSS); else it needs n bytes. Returns the bytes written. */
/* that layout: struct taskstats at byte 36 of the message (nlmsghdr 16, genlmsghdr 4, the AGGR_PID
 * attribute 4, its PID attribute 8, the STATS attribute's header 4), 372 bytes from version 12 on */
#define TS_AT 36
#define TS_BYTES 372
#define TS_AC_PID 128
#define TS_AC_PPID 132
#define TS_AC_TGID 368

int xw_compact_taskstats(void *watch, const unsigned char *buf, int n, unsigned char *out) {
  struct xw *w = (struct xw *)watch;
  int at = 0, o = 0;
  if (w->all || (!w->judged && !w->root)) {
    if (out != buf) memcpy(out, buf, (size_t)n);
    return n;
  }
  pthread_mutex_lock(w->fork_mutex);
  if (w->forks >= 0) drain_forks(w);
  while (n - at >= 16) {
    unsigned int len = u32_at(buf + at);
    int size = (int)((len + 3) & ~3u);
    const unsigned char *m = buf + at;
    int drop = 0;
    if (len < 16 || len > (unsigned int)(n - at)) break;
    if (len >= TS_AT + TS_BYTES && (u32_at(m + 20) >> 16 & 0x3fff) == 4 && (u32_at(m + 24) >> 16 & 0x3fff) == 1 &&
        (u32_at(m + 32) >> 16 & 0x3fff) == 3 && (u32_at(m + 32) & 0xffff) >= 4 + TS_BYTES &&
        (u32_at(m + TS_AT) & 0xffff) >= 12) {
      unsigned int pid = u32_at(m + TS_AT + TS_AC_PID);
      unsigned int tgid = u32_at(m + TS_AT + TS_AC_TGID);
      if (!tgid) tgid = pid;
      drop = !is_watched(w, tgid) && !is_watched(w, u32_at(m + TS_AT + TS_AC_PPID));
    }
    if (!drop) {
      if (out + o != m) memmove(out + o, m, (size_t)len);
      o += size;
    }
    at += size;
  }
  pthread_mutex_unlock(w->fork_mutex);
  return o;
}
