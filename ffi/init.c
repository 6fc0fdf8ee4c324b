/*
 * tracer run's init side, native part: signal forwarding from a sigaction handler, and the fork → exec
 * of CMD (process group, terminal, parent-death signal). Compiled at run time by bun:ffi's TinyCC;
 * forward declarations only (a user's machine may have no C headers).
 *
 * Why native: Bun's process.on cannot register SIGSTKFLT or the real-time signals (they then kill the
 * process), Bun owns SIGPWR (JavaScriptCore suspends threads with it), a JS handler never sees who sent
 * a signal (siginfo), and Bun.spawn cannot give CMD a process group, the terminal or PR_SET_PDEATHSIG.
 *
 * Everything in the handler and between fork and exec is async-signal-safe: plain system calls on C
 * globals. The handler forwards with kill(2) at once and writes the signal number into a non-blocking
 * pipe that wakes the JS side (reaping on SIGCHLD; nothing else needs JS), and on SIGCHLD a byte into
 * the orphan reaper's pipe (ffi/reaper.c).
 */
typedef long ssize_t;
typedef unsigned long size_t;
long syscall(long number, ...);
int kill(int pid, int sig);
int getpid(void);
int getppid(void);
int getpgrp(void);
int setpgid(int pid, int pgid);
int tcgetpgrp(int fd);
int tcsetpgrp(int fd, int pgrp);
int prctl(int option, ...);
int getrlimit(int resource, void *rlim);
int setrlimit(int resource, const void *rlim);
int chdir(const char *path);
int execve(const char *path, char *const argv[], char *const envp[]);
int open(const char *path, int flags, ...);
int close(int fd);
ssize_t read(int fd, void *buf, size_t n);
ssize_t write(int fd, const void *buf, size_t n);
int pipe2(int fds[2], int flags);
int fcntl(int fd, int cmd, ...);
int waitpid(int pid, int *status, int options);
void _exit(int status);
int *__errno_location(void);
void *mmap(void *addr, size_t len, int prot, int flags, int fd, long off);
int munmap(void *addr, size_t len);
int clone(int (*fn)(void *), void *stack, int flags, void *arg, ...);
int __libc_current_sigrtmin(void);
int __libc_current_sigrtmax(void);

struct sa { void *handler; unsigned long mask[16]; int flags; void *restorer; };
int sigaction(int sig, const struct sa *act, struct sa *old);

typedef struct {
  int si_signo, si_errno, si_code, _pad;
  int si_pid, si_uid, si_status;
} info_t;

#define O_RDONLY 0
#define O_RDWR 02
#define O_NOCTTY 0400
#define O_NONBLOCK 04000
#define O_CLOEXEC 02000000
#define SA_SIGINFO 4
#define SA_RESTART 0x10000000
#define SI_USER 0
#define SI_QUEUE (-1)
#define SI_KERNEL 0x80
#define SI_TKILL (-6)
#define CLD_STOPPED 5
#define EINTR 4
#define PR_SET_PDEATHSIG 1
#define SIGHUP 1
#define SIGINT 2
#define SIGQUIT 3
#define SIGKILL 9
#define SIGPIPE 13
#define SIGTERM 15
#define SIGCHLD 17
#define SIGCONT 18
#define SIGSTOP 19
#define SIGTSTP 20
#define SIGTTIN 21
#define SIGTTOU 22
#define SIGXFSZ 25
#define NSIG 65
#define SIG_DFL ((void *)0)
#define SIG_IGN ((void *)1)

#if defined(__x86_64__)
#define NR_CLONE 56
#define NR_RT_SIGPROCMASK 14
#define NR_WAITID 247
#define FENCE() __asm__ __volatile__("mfence" ::: "memory")
#elif defined(__aarch64__)
#define NR_CLONE 220
#define NR_RT_SIGPROCMASK 135
#define NR_WAITID 95
#define FENCE() do {} while (0) /* no fence here (TinyCC's arm64 inline assembler is not relied on): a ns-wide start-up race stays */
#else
#error "tracer's native init supports x86_64 and aarch64"
#endif
#define CLONE_VM 0x100
#define CLONE_VFORK 0x4000
#define MAP_FAILED ((void *)-1)
/* mmap: PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_STACK (the same on x86_64 and aarch64) */
#define STACK_PROT 3
#define STACK_MAP 0x20022
#define CHILD_STACK (64 * 1024)
#define NR_CLOSE_RANGE 436
#define CLOSE_RANGE_CLOEXEC 4
#define P_PID 1
#define WEXITED 4
#define WNOHANG 1
#define WNOWAIT 0x01000000

static volatile int g_self, g_pgrp, g_target, g_group, g_tty = -1, g_notify = -1, g_done, g_stopped_self;
/* a child that stopped before tracer_init_spawn had set g_target (the vfork parent resumes only after
 * the exec, so CMD can stop reading the terminal before its pid is known here) */
static volatile int g_early_stop;
/* write end of the orphan reaper's wake-up pipe (ffi/reaper.c): a byte per SIGCHLD, -1 without one */
static volatile int g_chld = -1;
static volatile char g_pending[NSIG];
/* the first SIGHUP, SIGINT, SIGQUIT or SIGTERM from outside while CMD ran (or was about to): the run was
 * asked to stop (a terminal's ^C, a scheduler's or a user's kill); 0 none */
static volatile int g_stop_signal;
/* the same, after CMD ended (tracer waits for leftovers: --kill-leftovers' grace), or 0 */
static volatile int g_late_stop;
/* the soft RLIMIT_NOFILE CMD gets (tracer_init_nofile), -1: tracer's own */
static long g_nofile_soft = -1;
static char g_handled[NSIG];
static struct sa g_old[NSIG];
static unsigned long g_orig_mask[16];

static int err(void) { return *__errno_location(); }
static void set_errno(int e) { *__errno_location() = e; }
static void add(unsigned long *mask, int sig) { mask[(sig - 1) / 64] |= 1UL << ((sig - 1) % 64); }
static int sigmask(int how, unsigned long *set, unsigned long *old) {
  return (int)syscall(NR_RT_SIGPROCMASK, how, set, old, 8);
}

static void notify(int sig) {
  char c = (char)sig;
  if (g_notify >= 0) write(g_notify, &c, 1); /* full pipe: JS is already awake */
}

/* /proc/PID/stat read into buf: the index of its state letter (after "comm) "), or -1. open/read/close only. */
static int proc_stat(int pid, char *buf, int cap) {
  char path[32], digits[12];
  int n = 0, i = 0, fd;
  ssize_t got;
  const char *pre = "/proc/";
  while (pre[i]) { path[i] = pre[i]; i++; }
  do { digits[n++] = (char)('0' + pid % 10); pid /= 10; } while (pid && n < 11);
  while (n) path[i++] = digits[--n];
  pre = "/stat";
  for (n = 0; pre[n]; n++) path[i++] = pre[n];
  path[i] = 0;
  fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  got = read(fd, buf, cap - 1);
  close(fd);
  if (got <= 0) return -1;
  buf[got] = 0;
  for (i = (int)got - 1; i > 0; i--)
    if (buf[i] == ')') return i + 2 < got ? i + 2 : -1;
  return -1;
}

/* The state letter of /proc/PID/stat ('T' stopped), or 0. */
static char proc_state(int pid) {
  char buf[512];
  int at = proc_stat(pid, buf, sizeof buf);
  return at < 0 ? 0 : buf[at];
}

/* The parent pid in /proc/PID/stat, or -1. */
static int proc_ppid(int pid) {
  char buf[512];
  int at = proc_stat(pid, buf, sizeof buf), ppid = 0;
  if (at < 0 || buf[at + 1] != ' ') return -1;
  for (at += 2; buf[at] >= '0' && buf[at] <= '9'; at++) ppid = ppid * 10 + (buf[at] - '0');
  return ppid;
}

/* `pid` is tracer's descendant (CMD's tree: orphans are re-parented to tracer). A sender already gone
 * (no /proc entry) counts as outside: most senders outside live on (a shell, a scheduler, timeout). */
static int in_tree(int pid) {
  int depth;
  for (depth = 0; depth < 4096 && pid > 1; depth++) {
    pid = proc_ppid(pid);
    if (pid == g_self) return 1;
  }
  return 0;
}

static int is_job_stop(int sig) { return sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU; }

static void send(int target, int sig) { kill(g_group ? -target : target, sig); }

/* The terminal goes to CMD's group while it runs (only when tracer was the terminal's foreground). */
static void give_terminal(int target) {
  if (g_tty >= 0 && tcgetpgrp(g_tty) == getpgrp()) tcsetpgrp(g_tty, target);
}

static void stop_self(void) {
  g_stopped_self = 1;
  kill(g_self, SIGSTOP);
}

static void on_cont(int target, int code) {
  int was_stopped = g_stopped_self;
  g_stopped_self = 0;
  if (g_group) {
    give_terminal(target);
    send(target, SIGCONT);
    return;
  }
  /* Shared group: the terminal's or the shell's SIGCONT to the job (fg, bg) already resumed CMD. */
  if (code == SI_KERNEL) return;
  if (was_stopped && proc_state(target) != 'T') return;
  send(target, SIGCONT);
}

static void forward(int sig, int code) {
  int target = g_target;
  if (target <= 0) return;
  if (sig == SIGCONT) { on_cont(target, code); return; }
  /* SI_KERNEL: sent by the kernel, not by a process. Without --signal-group that is the terminal
   * (^C, ^\, ^Z, resize, hangup) signalling tracer's foreground group, which CMD shares: CMD has its
   * copy already. With it, the terminal signals CMD's group, not tracer's: what reaches tracer is
   * about tracer itself (its own terminal access, a resource limit). Either way: not forwarded. */
  if (code != SI_KERNEL) send(target, sig);
  if (is_job_stop(sig)) stop_self();
}

static void on_child(info_t *si) {
  /* --signal-group in a terminal: CMD's job stopped (^Z went to its group, or it read the terminal from
   * the background), so the shell must see tracer stop too; take the terminal back for the shell first
   * (SIGTTOU is blocked in the handler). */
  if (g_group && g_tty >= 0 && si->si_code == CLD_STOPPED && si->si_pid > 0) {
    if (g_target <= 0) {
      g_early_stop = si->si_pid; /* mirrored by tracer_init_spawn once the pid is CMD's */
      return;
    }
    if (si->si_pid != g_target) return;
    if (tcgetpgrp(g_tty) == g_target) tcsetpgrp(g_tty, getpgrp());
    stop_self();
  }
}

/* A signal from outside tracer while CMD runs: forwarded now, or once CMD exists. */
static void on_external(int sig, info_t *si) {
  if (g_target <= 0) {
    g_pending[sig] = 1; /* forwarded once CMD exists */
    FENCE();
    if (g_target > 0 && g_pending[sig]) { g_pending[sig] = 0; forward(sig, si->si_code); }
  } else {
    forward(sig, si->si_code);
  }
}

/* `sig` asks the run to stop: SIGHUP, SIGINT, SIGQUIT or SIGTERM from outside CMD's tree. A `trap 'kill 0'
 * EXIT` in CMD signals its whole process group, tracer included: that is CMD ending itself. */
static int stop_request(int sig, info_t *si) {
  if (sig != SIGHUP && sig != SIGINT && sig != SIGQUIT && sig != SIGTERM) return 0;
  return !((si->si_code == SI_USER || si->si_code == SI_QUEUE) && in_tree(si->si_pid));
}

static void on_signal(int sig, info_t *si, void *ctx) {
  int saved = err();
  void (*old)(int, info_t *, void *) = (void (*)(int, info_t *, void *))g_old[sig].handler;
  if (sig == SIGCHLD) {
    char c = 1;
    if (g_chld >= 0) write(g_chld, &c, 1); /* full pipe: the reaper is already awake */
    on_child(si);
    /* Bun waits for its own children with pidfds; should a runtime handler exist, it still runs */
    if (old != SIG_DFL && old != SIG_IGN) old(sig, si, ctx);
  } else if (si->si_pid == g_self && (si->si_code == SI_USER || si->si_code == SI_TKILL)) {
    /* tracer's own: the runtime's (JavaScriptCore suspends threads with SIGPWR) goes to its handler;
     * a SIGPIPE/SIGXFSZ of tracer's own write is absorbed (the write fails with EPIPE/EFBIG) */
    if (old != SIG_DFL && old != SIG_IGN) old(sig, si, ctx);
  } else if (g_done) {
    /* CMD has ended: absorbed (a request to stop ends the leftovers' grace) */
    if (!g_late_stop && stop_request(sig, si)) g_late_stop = sig;
  } else {
    if (!g_stop_signal && stop_request(sig, si)) g_stop_signal = sig;
    on_external(sig, si);
  }
  notify(sig);
  set_errno(saved);
}

/*
 * Install the handler for every signal listed (0-terminated) plus SIGCHLD. A signal the caller ignored
 * (nohup) stays ignored, except SIGPIPE and SIGXFSZ, which the runtime itself ignores. `group`: CMD
 * will get its own process group (forward to the group; hand it the terminal when tracer has it).
 * Returns the read end of the wake-up pipe (non-blocking), or -errno.
 */
int tracer_init_install(int *sigs, int group) {
  struct sa act;
  int fds[2], i, s;
  if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) < 0) return -err();
  g_self = getpid();
  g_pgrp = getpgrp();
  g_notify = fds[1];
  g_group = group;
  sigmask(0 /* SIG_BLOCK */, 0, g_orig_mask);
  if (group) {
    /* tracer's controlling terminal, if any: CMD's group gets it when tracer is its foreground, and a
     * stop of CMD's group is mirrored so that the shell's job control sees it */
    g_tty = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
  }
  for (i = 0; i < 16; i++) act.mask[i] = 0;
  for (i = 0; sigs[i]; i++) add(act.mask, sigs[i]);
  add(act.mask, SIGCHLD);
  act.flags = SA_SIGINFO | SA_RESTART;
  act.handler = (void *)on_signal;
  act.restorer = 0;
  for (i = 0; ; i++) {
    s = i == 0 ? SIGCHLD : sigs[i - 1];
    if (s == 0) break;
    if (s <= 0 || s >= NSIG || g_handled[s]) continue;
    if (sigaction(s, 0, &g_old[s]) < 0) continue;
    /* nohup: stays ignored (SIGCHLD never: ignoring it would let the kernel reap CMD) */
    if (g_old[s].handler == SIG_IGN && s != SIGPIPE && s != SIGXFSZ && s != SIGCHLD) continue;
    if (g_old[s].handler != SIG_DFL && g_old[s].handler != SIG_IGN) {
      /* the runtime's handler: keep its mask and flags, so what it gets is what it had */
      struct sa chained = g_old[s];
      chained.handler = (void *)on_signal;
      chained.flags |= SA_SIGINFO;
      if (sigaction(s, &chained, 0) == 0) g_handled[s] = 1;
      continue;
    }
    if (sigaction(s, &act, 0) == 0) g_handled[s] = 1;
  }
  return fds[0];
}

/*
 * A non-blocking pipe that gets a byte on every SIGCHLD, for the orphan reaper's thread: returns its
 * read end, or -errno. The JS side's pipe (tracer_init_install's) is the reaper's to write to: its fd
 * is tracer_init_notify_fd's.
 */
int tracer_init_chld_pipe(void) {
  int fds[2];
  if (g_chld >= 0) return -16; /* EBUSY */
  if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) < 0) return -err();
  g_chld = fds[1];
  return fds[0];
}

int tracer_init_notify_fd(void) { return g_notify; }

int tracer_init_sigrtmin(void) { return __libc_current_sigrtmin(); }
int tracer_init_sigrtmax(void) { return __libc_current_sigrtmax(); }

/* bash's check_binary_file: a NUL in the first line of the file's first 80 bytes. open/read/close only. */
static int looks_binary(const char *path) {
  char buf[80];
  ssize_t n, i;
  int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return 0;
  n = read(fd, buf, sizeof buf);
  close(fd);
  for (i = 0; i < n; i++) {
    if (buf[i] == '\n') return 0;
    if (buf[i] == 0) return 1;
  }
  return 0;
}

static void child_exec(const char *path, char **argv, char **envp, const char *cwd, char **sh_argv,
                       int pdeathsig, int parent, int report) {
  struct sa dfl;
  int s, e, i;
  if (g_group) {
    setpgid(0, 0);
    /* SIGTTOU is blocked here */
    if (g_tty >= 0 && tcgetpgrp(g_tty) == g_pgrp) tcsetpgrp(g_tty, getpid());
  }
  for (i = 0; i < 16; i++) dfl.mask[i] = 0;
  dfl.flags = 0;
  dfl.handler = SIG_DFL;
  dfl.restorer = 0;
  /* Every handler back to the default, not only ours: the child shares tracer's memory (vfork) until
   * its exec, so no handler of the runtime may run here. Ignored signals stay ignored (nohup). */
  for (s = 1; s < NSIG; s++) {
    struct sa cur;
    if (s == SIGKILL || s == SIGSTOP) continue;
    if (g_handled[s] || s == SIGPIPE || s == SIGXFSZ) sigaction(s, &dfl, 0);
    else if (sigaction(s, 0, &cur) == 0 && cur.handler != SIG_DFL && cur.handler != SIG_IGN) sigaction(s, &dfl, 0);
  }
  if (g_nofile_soft >= 0) {
    struct { unsigned long cur, max; } lim;
    if (getrlimit(7 /* RLIMIT_NOFILE */, &lim) == 0 && (unsigned long)g_nofile_soft <= lim.max) {
      lim.cur = (unsigned long)g_nofile_soft;
      setrlimit(7, &lim);
    }
  }
  if (pdeathsig > 0) {
    prctl(PR_SET_PDEATHSIG, pdeathsig, 0, 0, 0);
    if (getppid() != parent) kill(getpid(), pdeathsig); /* tracer died before the prctl */
  }
  /* only 0, 1 and 2 reach CMD (as with Bun.spawn): none of the runtime's descriptors */
  if (syscall(NR_CLOSE_RANGE, 3, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
    for (i = 3; i < 65536; i++) fcntl(i, 2 /* F_SETFD */, 1 /* FD_CLOEXEC */);
  sigmask(2 /* SIG_SETMASK */, g_orig_mask, 0);
  if (cwd && chdir(cwd) < 0) { e = err(); write(report, &e, sizeof e); _exit(127); }
  execve(path, argv, envp);
  e = err();
  /* ENOEXEC: no #! line; run it with the shell, as execvp and every shell do — unless it is a binary
   * (another machine's, say): never fed to sh, 126 as bash says "cannot execute binary file" */
  if (e == 8 && !looks_binary(path)) {
    execve("/bin/sh", sh_argv, envp);
    e = 8;
  }
  write(report, &e, sizeof e);
  _exit(127);
}

struct spawn_job {
  const char *path, *cwd;
  char **argv, **envp, **sh_argv;
  int pdeathsig, parent, report;
};

static int child_main(void *p) {
  struct spawn_job *j = (struct spawn_job *)p;
  child_exec(j->path, j->argv, j->envp, j->cwd, j->sh_argv, j->pdeathsig, j->parent, j->report);
  return 127;
}

/*
 * fork → [setpgid, tcsetpgrp] → reset signals → [PR_SET_PDEATHSIG] → chdir(cwd) → execve(path).
 * `sh_argv` is the /bin/sh fallback argv ("sh", path, args...). Returns CMD's pid, or -errno when the
 * exec failed (the failed child is reaped here). Signals that arrived before are forwarded now.
 */
int tracer_init_spawn(const char *path, char **argv, char **envp, const char *cwd, char **sh_argv,
                      int pdeathsig) {
  unsigned long all[16], old[16];
  int fds[2], pid, e = 0, s, parent = getpid();
  ssize_t n;
  void *stack;
  if (pipe2(fds, O_CLOEXEC) < 0) return -err();
  for (s = 0; s < 16; s++) all[s] = ~0UL;
  sigmask(2, all, old);
  /* vfork semantics (as posix_spawn): the child borrows tracer's memory on a stack of its own and
   * tracer waits until it has exec'd, so no page table of a large runtime is copied and no page of it
   * is left copy-on-write. A plain fork when no stack can be had. */
  stack = mmap(0, CHILD_STACK, STACK_PROT, STACK_MAP, -1, 0);
  if (stack != MAP_FAILED) {
    struct spawn_job job;
    job.path = path;
    job.cwd = cwd;
    job.argv = argv;
    job.envp = envp;
    job.sh_argv = sh_argv;
    job.pdeathsig = pdeathsig;
    job.parent = parent;
    job.report = fds[1];
    pid = clone(child_main, (char *)stack + CHILD_STACK, CLONE_VM | CLONE_VFORK | SIGCHLD, &job);
    if (pid < 0) e = err();
    munmap(stack, CHILD_STACK);
    if (pid < 0) set_errno(e);
  } else {
    pid = (int)syscall(NR_CLONE, SIGCHLD, 0, 0, 0, 0); /* no atfork handlers: only syscalls follow */
    if (pid == 0) {
      close(fds[0]);
      child_exec(path, argv, envp, cwd, sh_argv, pdeathsig, parent, fds[1]);
    }
  }
  if (pid < 0) {
    e = err();
    sigmask(2, old, 0);
    close(fds[0]);
    close(fds[1]);
    return -e;
  }
  if (g_group) setpgid(pid, pid); /* both sides, so no signal to -pid can come before the group exists */
  /* CMD's pid is known from here on: a signal sent before its exec is held (blocked) by the child and
   * delivered once its dispositions are back to default — what it would have got right after the exec.
   * A stop of CMD (SIGCHLD) is seen even when it comes before the exec was confirmed. */
  g_target = pid;
  FENCE();
  for (s = 1; s < NSIG; s++)
    if (g_pending[s]) { g_pending[s] = 0; forward(s, SI_USER); }
  /* CMD stopped (read the terminal from the background) before its pid was known: mirror it now, as
   * on_child does (every signal is still blocked here, SIGTTOU among them) */
  if (g_early_stop == pid) {
    g_early_stop = 0;
    if (tcgetpgrp(g_tty) == pid) tcsetpgrp(g_tty, getpgrp());
    stop_self();
  }
  sigmask(2, old, 0);
  close(fds[1]);
  do n = read(fds[0], &e, sizeof e); while (n < 0 && err() == EINTR);
  close(fds[0]);
  if (n == (ssize_t)sizeof e) {
    g_target = 0;
    while (waitpid(pid, &s, 0) < 0 && err() == EINTR) {}
    if (g_tty >= 0) { /* the child may have taken the terminal already */
      sigmask(0, all, old);
      if (tcgetpgrp(g_tty) == pid) tcsetpgrp(g_tty, getpgrp());
      sigmask(2, old, 0);
    }
    return -e;
  }
  return pid;
}

/*
 * CMD's pid once it has exited (a zombie, not yet reaped: the caller reaps it with wait4 for its
 * rusage), else 0. From then on signals are absorbed, never sent to a pid that may be reused; the
 * terminal goes back to tracer's group.
 */
int tracer_init_cmd_exited(void) {
  int si[32]; /* siginfo_t: 128 bytes, si_pid at byte 16 */
  unsigned long ttou[16], old[16];
  int target = g_target, i;
  if (target <= 0) return 0;
  for (i = 0; i < 32; i++) si[i] = 0;
  if (syscall(NR_WAITID, P_PID, target, si, WEXITED | WNOHANG | WNOWAIT, 0) < 0 || si[4] != target)
    return 0;
  g_done = 1;
  g_target = 0;
  if (g_tty >= 0) {
    for (i = 0; i < 16; i++) ttou[i] = 0;
    add(ttou, SIGTTOU);
    sigmask(0, ttou, old);
    if (tcgetpgrp(g_tty) == target) tcsetpgrp(g_tty, getpgrp());
    sigmask(2, old, 0);
  }
  return target;
}

/* Stop forwarding (CMD is gone): later signals are absorbed until tracer exits. */
void tracer_init_done(void) {
  g_done = 1;
  g_target = 0;
}

/* The soft RLIMIT_NOFILE to give CMD (before tracer_init_spawn): the runtime raised tracer's own to
 * its hard limit at start, and CMD must not inherit that. -1: leave CMD tracer's. */
void tracer_init_nofile(double soft) { g_nofile_soft = soft >= 0 ? (long)soft : -1; }

/* The first SIGHUP, SIGINT, SIGQUIT or SIGTERM that reached tracer from outside before CMD ended (the
 * run was asked to stop: ^C in its terminal, a batch scheduler's or a user's kill), or 0. */
int tracer_init_stop_signal(void) { return g_stop_signal; }

/* The same, arrived after CMD ended (while tracer waits for what CMD left running), or 0. */
int tracer_init_late_stop(void) { return g_late_stop; }
