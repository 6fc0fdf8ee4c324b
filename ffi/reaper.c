/*
 * tracer run's orphan reaper: a native thread that reaps every orphan re-parented to tracer (the child
 * subreaper) the moment it is a zombie, after reading what only a zombie still shows. Compiled like the
 * other helpers (prebuilt object or TinyCC); forward declarations only.
 *
 * Why a thread of its own: reaping from the JavaScript thread ties the reap rate to the recorder's. A
 * fork storm (a chain of processes, each forking the next and exiting) outran it, zombies piled up to
 * pid_max and fork failed with EAGAIN. Here a zombie waits for one wake-up of this thread, whatever the
 * recorder is doing; what the recorder needs comes with each reap, in a queue it drains.
 *
 * At the zombie stage, before wait4 (so the pid cannot be reused meanwhile — this thread is the only
 * reaper of these pids), it reads:
 *  - the process's CPU clock (CPUCLOCK_SCHED): its whole runtime, exit teardown included, what the
 *    taskstats record (sent earlier, before exit_mm) lacks;
 *  - /proc/PID/task/PID/io: the main thread's final I/O counters, exact for a single-threaded process
 *    (taskstats rounds them down to whole KiB; /proc/PID/io would add the children it reaped);
 *  - /proc/PID/stat's start time (clock ticks since boot): which incarnation of the pid this was.
 *
 * CMD is never reaped here: the JS side reaps it for its status. Any other child of tracer is, as the
 * JS side did before (`tracer run` starts no child of its own once CMD runs).
 *
 * Record (RP_FIELDS doubles): pid, raw wait status, CLOCK_REALTIME ms of the reap, user µs, system µs,
 * max RSS KiB (rusage), start ticks, CPU clock ns, rchar, wchar, read_bytes, write_bytes; -1 where a
 * read failed.
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
int sched_setscheduler(int pid, int policy, const void *param);
int setpriority(int which, unsigned int who, int prio);
int pthread_detach(pthread_t thread);
int pthread_mutex_lock(void *mutex);
int pthread_mutex_unlock(void *mutex);
int pthread_mutexattr_init(void *attr);
int pthread_mutexattr_setprotocol(void *attr, int protocol);
int pthread_mutexattr_destroy(void *attr);
int pthread_mutex_init(void *mutex, const void *attr);
void *realloc(void *p, size_t size);
void free(void *p);
void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
int open(const char *path, int flags, ...);
ssize_t read(int fd, void *buf, size_t n);
ssize_t write(int fd, const void *buf, size_t n);
int close(int fd);
int pipe2(int *fds, int flags);
int poll(void *fds, unsigned long n, int timeout);
long syscall(long number, ...);
int getpid(void);
int clock_gettime(int clock, void *ts);
int *__errno_location(void);

#if defined(__x86_64__)
#define NR_WAITID 247
#define NR_WAIT4 61
#define NR_GETDENTS64 217
#elif defined(__aarch64__)
#define NR_WAITID 95
#define NR_WAIT4 260
#define NR_GETDENTS64 61
#else
#error "tracer's orphan reaper supports x86_64 and aarch64"
#endif

#define O_RDONLY 0
#define O_NONBLOCK 04000
#define O_DIRECTORY 0200000
#define O_CLOEXEC 02000000
#define POLLIN 1
#define P_ALL 0
#define P_PID 1
#define WNOHANG 1
#define WEXITED 4
#define WNOWAIT 0x01000000
#define CLOCK_REALTIME 0
#define CPUCLOCK_SCHED 2
#define RP_FIELDS 12
#define SCAN_ALL_MS 1000
#define CHILDREN_CHUNK 4096
#define SCHED_FIFO 1
#define PTHREAD_EXPLICIT_SCHED 1 /* glibc and musl */
#define RP_RT_PRIORITY 1 /* below the exec watcher's 2 (ffi/execwatch.c) */
#define RP_NICE -10

struct rp_pollfd {
  int fd;
  short events;
  short revents;
};

/* A mutex that the real-time thread shares with the caller's thread: priority-inheriting where the C
 * library can (a caller thread that holds it, in a scan or a take, runs at the thread's priority until
 * it lets go; see ffi/execwatch.c), else the default one. */
#define PTHREAD_PRIO_INHERIT 1
static void shared_mutex(void *m) {
  unsigned long long attr[2]; /* pthread_mutexattr_t: 4 bytes in glibc and musl */
  if (pthread_mutexattr_init(attr) != 0) return; /* the zeroed mutex stays: the default kind */
  if (pthread_mutexattr_setprotocol(attr, PTHREAD_PRIO_INHERIT) == 0) pthread_mutex_init(m, attr);
  pthread_mutexattr_destroy(attr);
}

struct rp_timespec {
  long sec, nsec;
};

struct rp {
  unsigned char mutex[64]; /* the queue (shared_mutex) */
  unsigned char scan_mutex[64]; /* one scan at a time (the thread, or rp_reap_now on the caller's) */
  pthread_t thread;
  int self, wake, notify, stop[2];
  volatile int cmd, stopping;
  double *queue;
  int head, len, cap; /* records */
};

static struct rp g_rp;
static int g_started;

static double now_ms(void) {
  struct rp_timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (double)ts.sec * 1e3 + (double)ts.nsec / 1e6;
}

static int put_str(char *out, const char *s) {
  int i = 0;
  while (s[i]) { out[i] = s[i]; i++; }
  return i;
}

static int put_uint(char *out, unsigned v) {
  char digits[12];
  int n = 0, i;
  do { digits[n++] = (char)('0' + v % 10); v /= 10; } while (v && n < 11);
  for (i = 0; i < n; i++) out[i] = digits[n - 1 - i];
  return n;
}

/* "/proc/PID" + leaf, or with tid > 0 "/proc/PID/task/TID" + leaf, into out (at least 64 bytes). */
static void proc_path(char *out, int pid, int tid, const char *leaf) {
  int i = put_str(out, "/proc/");
  i += put_uint(out + i, (unsigned)pid);
  if (tid > 0) {
    i += put_str(out + i, "/task/");
    i += put_uint(out + i, (unsigned)tid);
  }
  i += put_str(out + i, leaf);
  out[i] = 0;
}

static ssize_t read_small(const char *path, char *buf, size_t cap) {
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  ssize_t n;
  if (fd < 0) return -1;
  n = read(fd, buf, cap - 1);
  close(fd);
  if (n >= 0) buf[n] = 0;
  return n;
}

static double parse_num(const char **p) {
  double v = 0;
  while (**p >= '0' && **p <= '9') { v = v * 10 + (**p - '0'); (*p)++; }
  return v;
}

/* field 22 of /proc/PID/stat (starttime, clock ticks since boot), or -1 */
static double start_ticks(int pid) {
  char path[64], buf[1024];
  const char *p;
  ssize_t n, i;
  int field = 2;
  proc_path(path, pid, 0, "/stat");
  n = read_small(path, buf, sizeof buf);
  if (n <= 0) return -1;
  for (i = n - 1; i > 0 && buf[i] != ')'; i--) {}
  if (i <= 0) return -1;
  p = buf + i + 1;
  while (*p && field < 22) {
    if (*p == ' ') field++;
    p++;
  }
  return field == 22 ? parse_num(&p) : -1;
}

static int starts(const char *p, const char *key) {
  while (*key) if (*p++ != *key++) return 0;
  return 1;
}

/*
 * rchar, wchar, read_bytes, write_bytes of /proc/PID/task/PID/io (the main thread's own: /proc/PID/io
 * adds the children the process reaped) into out[0..3]; unchanged (-1) on failure.
 */
static void read_io(int pid, double *out) {
  char path[64], buf[512];
  const char *p;
  static const char *keys[4] = {"rchar: ", "wchar: ", "read_bytes: ", "write_bytes: "};
  static const int lens[4] = {7, 7, 12, 13};
  int k;
  proc_path(path, pid, pid, "/io");
  if (read_small(path, buf, sizeof buf) <= 0) return;
  for (p = buf; *p; ) {
    for (k = 0; k < 4; k++)
      if (starts(p, keys[k])) {
        p += lens[k];
        out[k] = parse_num(&p);
        break;
      }
    while (*p && *p != '\n') p++;
    if (*p) p++;
  }
}

static void push(struct rp *r, const double *rec) {
  pthread_mutex_lock(r->mutex);
  if (r->head == r->len) r->head = r->len = 0;
  if (r->len == r->cap) {
    int cap = r->cap ? r->cap * 2 : 256;
    double *q;
    if (r->head > 0) { /* room at the front: move the pending records there first */
      memmove(r->queue, r->queue + (size_t)r->head * RP_FIELDS, (size_t)(r->len - r->head) * RP_FIELDS * sizeof(double));
      r->len -= r->head;
      r->head = 0;
    }
    if (r->len == r->cap) {
      q = (double *)realloc(r->queue, (size_t)cap * RP_FIELDS * sizeof(double));
      if (!q) { pthread_mutex_unlock(r->mutex); return; } /* out of memory: the reap stands, its figures are lost */
      r->queue = q;
      r->cap = cap;
    }
  }
  memcpy(r->queue + (size_t)r->len * RP_FIELDS, rec, RP_FIELDS * sizeof(double));
  r->len++;
  pthread_mutex_unlock(r->mutex);
}

/* One child: when it is a zombie, read it, reap it, queue the record. Returns 1 when reaped. */
static int reap_one(struct rp *r, int pid) {
  int si[32]; /* siginfo_t: 128 bytes, si_pid at byte 16 */
  long ru[18]; /* struct rusage: utime, stime (timeval), maxrss, ... */
  int status = 0, i;
  double rec[RP_FIELDS];
  struct rp_timespec ts;
  if (pid <= 0 || pid == r->cmd) return 0;
  for (i = 0; i < 32; i++) si[i] = 0;
  if (syscall(NR_WAITID, P_PID, pid, si, WEXITED | WNOHANG | WNOWAIT, 0) < 0 || si[4] != pid) return 0;
  for (i = 0; i < RP_FIELDS; i++) rec[i] = -1;
  rec[6] = start_ticks(pid);
  /* MAKE_PROCESS_CPUCLOCK(pid, CPUCLOCK_SCHED), as glibc's clock_getcpuclockid builds it */
  if (clock_gettime((int)(((unsigned)~pid << 3) | CPUCLOCK_SCHED), &ts) == 0)
    rec[7] = (double)ts.sec * 1e9 + (double)ts.nsec;
  read_io(pid, rec + 8);
  if (syscall(NR_WAIT4, pid, &status, WNOHANG, ru) != pid) return 0;
  rec[0] = pid;
  rec[1] = status;
  rec[2] = now_ms();
  rec[3] = (double)ru[0] * 1e6 + (double)ru[1];
  rec[4] = (double)ru[2] * 1e6 + (double)ru[3];
  rec[5] = (double)ru[4];
  push(r, rec);
  return 1;
}

/*
 * Every child listed in /proc/PID/task/TID/children (space-separated pids), read whole before any reap:
 * the file is paged by index, so reaping while reading it would skip entries.
 */
static int reap_children_of(struct rp *r, int tid) {
  char path[64], buf[CHILDREN_CHUNK];
  int fd, pid = 0, have = 0, reaped = 0, i, count = 0, cap = 0;
  int *pids = 0, *grown;
  ssize_t n;
  proc_path(path, r->self, tid, "/children");
  fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  /* a pid cut at a chunk's end carries over to the next chunk; a trailing space ends the last one */
  while ((n = read(fd, buf, sizeof buf)) > 0)
    for (i = 0; i < n; i++) {
      if (buf[i] >= '0' && buf[i] <= '9') { pid = pid * 10 + (buf[i] - '0'); have = 1; continue; }
      if (!have) continue;
      if (count == cap) {
        grown = (int *)realloc(pids, (size_t)(cap ? cap * 2 : 256) * sizeof(int));
        if (grown) {
          pids = grown;
          cap = cap ? cap * 2 : 256;
        }
      }
      /* out of memory: what was read is reaped, the rest on the next scan */
      if (count < cap) pids[count++] = pid;
      pid = 0;
      have = 0;
    }
  close(fd);
  if (have) reaped += reap_one(r, pid);
  for (i = 0; i < count; i++) reaped += reap_one(r, pids[i]);
  free(pids);
  return reaped;
}

struct rp_dirent {
  unsigned long long ino;
  long long off;
  unsigned short reclen;
  unsigned char type;
  char name[1];
};

/* Every thread's children (orphans go to the main thread; a child forked by another thread stays its). */
static int reap_all_threads(struct rp *r) {
  char buf[4096];
  long n, off;
  int reaped = 0, fd = open("/proc/self/task", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return reap_children_of(r, r->self);
  while ((n = syscall(NR_GETDENTS64, fd, buf, sizeof buf)) > 0)
    for (off = 0; off < n; ) {
      struct rp_dirent *e = (struct rp_dirent *)(buf + off);
      const char *p = e->name;
      double tid = parse_num(&p);
      if (e->name[0] != '.' && *p == 0 && tid > 0) reaped += reap_children_of(r, (int)tid);
      off += e->reclen;
    }
  close(fd);
  return reaped;
}

static int scan(struct rp *r, int all) {
  int reaped;
  pthread_mutex_lock(r->scan_mutex);
  reaped = all ? reap_all_threads(r) : reap_children_of(r, r->self);
  pthread_mutex_unlock(r->scan_mutex);
  return reaped;
}

static void wake_js(struct rp *r) {
  char c = 17; /* SIGCHLD: the JS side drains the queue on any wake-up */
  if (r->notify >= 0) write(r->notify, &c, 1); /* full pipe: JS is already awake */
}

/*
 * Until CMD has exited: block in waitid(P_ALL, WNOWAIT), which the kernel wakes the moment any child is
 * (or, re-parented, already was) a zombie. No signal is involved: a SIGCHLD is delivered to whichever
 * thread the kernel picks, and one busy in an uninterruptible system call (the JS thread committing to
 * SQLite) held it back while zombies piled up. WNOWAIT reports the same zombie until it is reaped, so
 * once that is CMD (the JS side reaps it), or when there is no child at all, this falls back to waking
 * on SIGCHLD through `wake`, with a full scan every second.
 */
static void blocking_reaps(struct rp *r) {
  int si[32], reaped = 0, i, flags = WEXITED | WNOWAIT;
  for (;;) {
    if (r->stopping) return;
    for (i = 0; i < 32; i++) si[i] = 0;
    if (syscall(NR_WAITID, P_ALL, 0, si, flags, 0) < 0) {
      if (*__errno_location() == 4 /* EINTR */) continue;
      return; /* ECHILD: no child left */
    }
    if (si[4] == 0) { /* WNOHANG and no zombie: what was reaped goes to JS, then block again */
      if (reaped) wake_js(r);
      reaped = 0;
      flags = WEXITED | WNOWAIT;
      continue;
    }
    if (si[4] == r->cmd) {
      if (reaped) wake_js(r);
      return;
    }
    pthread_mutex_lock(r->scan_mutex);
    reaped += reap_one(r, si[4]);
    pthread_mutex_unlock(r->scan_mutex);
    flags = WEXITED | WNOWAIT | WNOHANG;
  }
}

static void *rp_main(void *arg) {
  struct rp *r = (struct rp *)arg;
  struct rp_pollfd fds[2];
  char drain[64];
  double last_all;
  int rt_priority = RP_RT_PRIORITY;
  /* created real-time where allowed; else lower this thread's nice value (Linux: per thread) */
  if (sched_setscheduler(0, SCHED_FIFO, &rt_priority) != 0) setpriority(0, 0, RP_NICE);
  blocking_reaps(r);
  last_all = now_ms();
  for (;;) {
    int ready, all;
    if (r->stopping) break;
    fds[0].fd = r->wake;
    fds[0].events = POLLIN;
    fds[0].revents = 0;
    fds[1].fd = r->stop[0];
    fds[1].events = POLLIN;
    fds[1].revents = 0;
    ready = poll(fds, 2, SCAN_ALL_MS);
    if (ready < 0 && *__errno_location() != 4 /* EINTR */) break;
    if (fds[1].revents) break;
    if (fds[0].revents) while (read(r->wake, drain, sizeof drain) > 0) {}
    all = now_ms() - last_all >= SCAN_ALL_MS;
    if (all) last_all = now_ms();
    if (scan(r, all) > 0) wake_js(r);
  }
  return 0;
}

/*
 * Real-time (SCHED_FIFO, the lowest priority) from its creation where allowed, as the exec watcher: a
 * fork storm keeps the CPUs busy, and a zombie must not wait for a time slice. Its work per wake-up is
 * bounded by what the storm itself forked. Returns pthread_create's.
 */
static int start_thread(struct rp *r) {
  unsigned long long attr[16]; /* a pthread_attr_t: 56 bytes in glibc, at most that in musl */
  int rt_priority = RP_RT_PRIORITY, made = -1;
  if (pthread_attr_init(attr) == 0) {
    if (pthread_attr_setinheritsched(attr, PTHREAD_EXPLICIT_SCHED) == 0 &&
        pthread_attr_setschedpolicy(attr, SCHED_FIFO) == 0 && pthread_attr_setschedparam(attr, &rt_priority) == 0)
      made = pthread_create(&r->thread, attr, rp_main, r);
    pthread_attr_destroy(attr);
  }
  if (made != 0) made = pthread_create(&r->thread, 0, rp_main, r);
  return made;
}

/*
 * Start the reaper thread. `cmd`: CMD's pid (never reaped here); `wake`: a non-blocking fd that becomes
 * readable on SIGCHLD (ffi/init.c); `notify`: the JS side's wake-up pipe (a byte after each reap).
 * Returns 0, or -errno (pthread_create's) when no thread could be made: the caller reaps instead.
 */
int rp_start(int cmd, int wake, int notify) {
  struct rp *r = &g_rp;
  int e;
  if (g_started) return -16; /* EBUSY */
  shared_mutex(r->mutex);
  shared_mutex(r->scan_mutex);
  r->self = getpid();
  r->cmd = cmd;
  r->wake = wake;
  r->notify = notify;
  if (pipe2(r->stop, O_CLOEXEC | O_NONBLOCK) < 0) return -*__errno_location();
  e = start_thread(r);
  if (e != 0) {
    close(r->stop[0]);
    close(r->stop[1]);
    return -e;
  }
  pthread_detach(r->thread);
  g_started = 1;
  return 0;
}

/* CMD has been reaped by the caller: its pid may now be another process's. */
void rp_cmd_reaped(void) { g_rp.cmd = 0; }

/* Reap now on the caller's thread: the main thread's children, or with `all` every thread's; returns how many. */
int rp_reap_now(int all) { return scan(&g_rp, all); }

/* Copy up to `cap` queued records into `out` (RP_FIELDS doubles each); returns how many. */
int rp_take(double *out, int cap) {
  struct rp *r = &g_rp;
  int n;
  pthread_mutex_lock(r->mutex);
  n = r->len - r->head;
  if (n > cap) n = cap;
  if (n > 0) {
    memcpy(out, r->queue + (size_t)r->head * RP_FIELDS, (size_t)n * RP_FIELDS * sizeof(double));
    r->head += n;
  }
  if (r->head == r->len) {
    r->head = r->len = 0;
    if (r->cap > 4096) { /* a storm is over: give the memory back */
      free(r->queue);
      r->queue = 0;
      r->cap = 0;
    }
  }
  pthread_mutex_unlock(r->mutex);
  return n;
}

/*
 * Stop the thread. It is not joined: blocked in waitid it wakes only at the next zombie, and tracer
 * exits right after this. Queued reaps stay for rp_take; a reap after this call is queued for nobody.
 */
void rp_stop(void) {
  struct rp *r = &g_rp;
  char c = 1;
  if (!g_started) return;
  r->stopping = 1;
  write(r->stop[1], &c, 1);
}
