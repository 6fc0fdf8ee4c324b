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
 * A watched pid stays marked after its process ends: a reused pid costs one needless read.
 *
 * Compiled at run time by bun:ffi's TinyCC; forward declarations only (a user's machine may have no C
 * headers). The thread never calls into JavaScript; the ring is guarded by a mutex. Functions return
 * -errno or 0 on failure so errno never crosses into JavaScript.
 *
 * Record layout in the ring (each record starts on an 8-byte boundary):
 *   u32 tgid, u16 argv bytes, u16 cwd bytes, f64 CLOCK_MONOTONIC ms of the exec, argv (NUL-separated
 *   as in /proc), cwd.
 */
typedef long ssize_t;
typedef unsigned long size_t;
typedef unsigned long pthread_t;

int pthread_create(pthread_t *thread, const void *attr, void *(*fn)(void *), void *arg);
int pthread_join(pthread_t thread, void **ret);
int pthread_mutex_lock(void *mutex);
int pthread_mutex_unlock(void *mutex);
void *calloc(size_t n, size_t size);
void *malloc(size_t size);
void free(void *p);
void *memcpy(void *dst, const void *src, size_t n);
int open(const char *path, int flags, ...);
ssize_t read(int fd, void *buf, size_t n);
ssize_t readlink(const char *path, char *buf, size_t n);
ssize_t recv(int fd, void *buf, size_t n, int flags);
ssize_t write(int fd, const void *buf, size_t n);
int close(int fd);
int pipe2(int *fds, int flags);
int poll(void *fds, unsigned long n, int timeout);
int *__errno_location(void);
int setpriority(int which, unsigned int who, int prio);
int setsockopt(int fd, int level, int name, const void *value, unsigned int len);

#define O_RDONLY 0
#define O_NONBLOCK 04000
#define O_CLOEXEC 02000000
#define POLLIN 1
#define MSG_DONTWAIT 0x40
#define EINTR 4
#define ENOBUFS 105

#define PID_LIMIT (1 << 22) /* PID_MAX_LIMIT on 64-bit Linux */
#define ARGV_MAX 4096
#define CWD_MAX 1024
#define RX_BYTES 262144
#define XW_NICE -10

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

struct xw_pollfd {
  int fd;
  short events;
  short revents;
};

struct xw {
  unsigned char mutex[64]; /* all zero = PTHREAD_MUTEX_INITIALIZER (glibc and musl) */
  pthread_t thread;
  int sock; /* exec events */
  int forks; /* fork events of processes; -1 when every process is watched */
  int wake[2];
  int all;
  unsigned char *watched; /* bitmap of watched tgids (unused when all) */
  unsigned char *ring;
  int cap;
  int used;
  unsigned char *rx;
  char argv[ARGV_MAX];
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

/* One read: /proc/PID/cmdline hands over what fits in one call (an argv longer than ARGV_MAX is cut). */
static int read_once(const char *path, char *buf, int cap) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  ssize_t r;
  if (fd < 0) return -1;
  do {
    r = read(fd, buf, (size_t)cap);
  } while (r < 0 && *__errno_location() == EINTR);
  close(fd);
  return (int)r;
}

static void capture(struct xw *w, unsigned int tgid, double at_ms) {
  char path[40];
  int argv_len, cwd_len, size;
  unsigned short lens[2];
  proc_path(path, tgid, "cmdline");
  argv_len = read_once(path, w->argv, ARGV_MAX);
  if (argv_len <= 0) return; /* gone already, or a zombie: nothing to keep */
  proc_path(path, tgid, "cwd");
  cwd_len = (int)readlink(path, w->cwd, CWD_MAX);
  if (cwd_len < 0) cwd_len = 0;
  size = (16 + argv_len + cwd_len + 7) & ~7;
  lens[0] = (unsigned short)argv_len;
  lens[1] = (unsigned short)cwd_len;
  pthread_mutex_lock(w->mutex);
  /* a full ring drops the record: the recorder then reads /proc as it would without the watcher */
  if (w->used + size <= w->cap) {
    unsigned char *r = w->ring + w->used;
    memcpy(r, &tgid, 4);
    memcpy(r + 4, lens, 4);
    memcpy(r + 8, &at_ms, 8);
    memcpy(r + 16, w->argv, (size_t)argv_len);
    memcpy(r + 16 + argv_len, w->cwd, (size_t)cwd_len);
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
        if (pid == tgid && is_watched(w, ptgid)) watch_pid(w, tgid);
      } else if (what == PROC_EVENT_EXEC) {
        unsigned int pid = u32_at(ev + 16), tgid = u32_at(ev + 20);
        if (pid == tgid && is_watched(w, tgid)) capture(w, tgid, (double)ns / 1e6);
      }
    }
    at += (int)((len + 3) & ~3u);
  }
}

/* Handle what is queued on `sock` without blocking: everything, or (once) a single datagram. Each
 * system call counts here: the thread runs once per exec on the host. */
static void drain(struct xw *w, int sock, int once) {
  for (;;) {
    ssize_t got = recv(sock, w->rx, RX_BYTES, MSG_DONTWAIT);
    if (got < 0) {
      int e = *__errno_location();
      if (e == EINTR || e == ENOBUFS) continue; /* an overrun only costs those execs their early read */
      return; /* EAGAIN */
    }
    handle(w, w->rx, (int)got);
    if (once) return;
  }
}

static void *xw_main(void *arg) {
  struct xw *w = (struct xw *)arg;
  struct xw_pollfd p[2];
  /* Woken first when a process execs, so its /proc entry is read before a short one ends. On Linux the
   * nice value belongs to a thread and who 0 is the caller: only this thread changes. Failure (no
   * CAP_SYS_NICE) leaves it at the process's priority. */
  setpriority(0, 0, XW_NICE);
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
    if (w->forks >= 0) drain(w, w->forks, 0);
    /* one exec per wake: poll() returns at once while more are queued */
    if (p[0].revents) drain(w, w->sock, 1);
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
  free(w->watched);
  free(w->ring);
  free(w->rx);
  free(w);
}

/* Start watching: `sock` for execs, `forks` for forks (-1 with root 0: every process is watched).
 * Both are subscribed, non-blocking proc-connector sockets the caller keeps open until xw_stop.
 * Returns the watch, or 0. */
void *xw_start(int sock, int forks, unsigned int root, int ring_bytes) {
  struct xw *w = (struct xw *)calloc(1, sizeof(struct xw));
  if (!w) return 0;
  w->sock = sock;
  w->all = root == 0;
  w->forks = w->all ? -1 : forks;
  w->wake[0] = w->wake[1] = -1;
  w->cap = ring_bytes;
  w->ring = (unsigned char *)malloc((size_t)ring_bytes);
  w->rx = (unsigned char *)malloc(RX_BYTES);
  w->watched = w->all ? 0 : (unsigned char *)calloc(PID_LIMIT / 8, 1);
  if (!w->ring || !w->rx || (!w->all && (!w->watched || forks < 0)) ||
      pipe2(w->wake, O_CLOEXEC | O_NONBLOCK) < 0) {
    release_watch(w);
    return 0;
  }
  attach_filter(sock, 0);
  if (w->forks >= 0) attach_filter(w->forks, 1);
  watch_pid(w, root);
  if (pthread_create(&w->thread, 0, xw_main, w) != 0) {
    release_watch(w);
    return 0;
  }
  return w;
}

/* Move every record into out[0..cap) (cap must be at least the ring size). Returns bytes. */
int xw_take(void *watch, unsigned char *out, int cap) {
  struct xw *w = (struct xw *)watch;
  int n;
  pthread_mutex_lock(w->mutex);
  n = w->used <= cap ? w->used : 0;
  if (n) memcpy(out, w->ring, (size_t)n);
  w->used -= n;
  pthread_mutex_unlock(w->mutex);
  return n;
}

/* Wake the thread, wait for it to end, free everything. The caller closes the sockets afterwards. */
void xw_stop(void *watch) {
  struct xw *w = (struct xw *)watch;
  char c = 1;
  write(w->wake[1], &c, 1);
  pthread_join(w->thread, 0);
  release_watch(w);
}
