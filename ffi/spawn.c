/*
 * tracer's native self-spawn: fork → fork → setsid → exec of an already-open file descriptor.
 *
 * Compiled at run time by bun:ffi's TinyCC. Forward declarations only: a user's machine may have no
 * C headers. Everything between fork and exec is async-signal-safe (raw syscalls and plain libc
 * wrappers around single syscalls), because the parent (Bun) is multi-threaded.
 *
 * Protocol with the caller over a CLOEXEC pipe:
 *   the intermediate child writes the daemon's pid (int, or -errno if the second fork failed);
 *   the daemon writes errno (int) only if both execveat and fexecve failed; on success the pipe
 *   simply reaches EOF when exec closes it.
 * The caller reaps the intermediate child, so no zombie is left behind; the daemon is re-parented.
 */
typedef long ssize_t;
typedef unsigned long size_t;
long syscall(long number, ...);
int open(const char *path, int flags, ...);
int close(int fd);
int dup2(int oldfd, int newfd);
int chdir(const char *path);
unsigned int umask(unsigned int mask);
int setsid(void);
int pipe2(int fds[2], int flags);
ssize_t read(int fd, void *buf, size_t n);
ssize_t write(int fd, const void *buf, size_t n);
int waitpid(int pid, int *status, int options);
int fexecve(int fd, char *const argv[], char *const envp[]);
int fcntl(int fd, int cmd, ...);
void *signal(int sig, void *handler);
void _exit(int status);
int *__errno_location(void);

#define O_RDWR 02
#define O_CLOEXEC 02000000
#define AT_EMPTY_PATH 0x1000
#define CLOSE_RANGE_CLOEXEC 4
#define F_SETFD 2
#define FD_CLOEXEC 1
#define SIGCHLD 17
#define EINTR 4

#if defined(__x86_64__)
#define NR_CLONE 56
#define NR_EXECVEAT 322
#define NR_RT_SIGPROCMASK 14
#elif defined(__aarch64__)
#define NR_CLONE 220
#define NR_EXECVEAT 281
#define NR_RT_SIGPROCMASK 135
#else
#error "tracer native spawn supports x86_64 and aarch64"
#endif
#define NR_CLOSE_RANGE 436

static int err(void) { return *__errno_location(); }

/* A fork that runs no atfork handlers: only syscalls follow it. */
static int raw_fork(void) { return (int)syscall(NR_CLONE, SIGCHLD, 0, 0, 0, 0); }

static void write_int(int fd, int v) {
  while (write(fd, &v, sizeof v) < 0 && err() == EINTR) {}
}

static int read_int(int fd, int *v) {
  char *p = (char *)v;
  int got = 0;
  while (got < (int)sizeof *v) {
    ssize_t n = read(fd, p + got, sizeof *v - got);
    if (n < 0 && err() == EINTR) continue;
    if (n <= 0) return got;
    got += (int)n;
  }
  return got;
}

static void daemon_child(int exefd, char **argv, char **envp, int logfd, int report) {
  unsigned long empty_mask = 0;
  int sig, fd, nullfd;
  setsid();
  syscall(NR_RT_SIGPROCMASK, 2 /* SIG_SETMASK */, &empty_mask, 0, 8);
  for (sig = 1; sig < 32; sig++)
    if (sig != 9 && sig != 19) signal(sig, (void *)0 /* SIG_DFL */);
  nullfd = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (nullfd < 0 || dup2(nullfd, 0) < 0 || dup2(logfd, 1) < 0 || dup2(logfd, 2) < 0) {
    write_int(report, err());
    _exit(127);
  }
  if (chdir("/") < 0) { write_int(report, err()); _exit(127); }
  umask(077);
  /* Nothing but 0/1/2 may survive exec: mark every other fd close-on-exec. */
  if (syscall(NR_CLOSE_RANGE, 3, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
    for (fd = 3; fd < 65536; fd++) fcntl(fd, F_SETFD, FD_CLOEXEC);
  syscall(NR_EXECVEAT, exefd, "", argv, envp, AT_EMPTY_PATH);
  fexecve(exefd, argv, envp);
  write_int(report, err());
  _exit(127);
}

/* Returns the daemon's pid, or -errno. */
int tracer_spawn_fd(int exefd, char **argv, char **envp, int logfd) {
  int fds[2], pid, daemon_pid = 0, exec_errno = 0, status = 0;
  if (pipe2(fds, O_CLOEXEC) < 0) return -err();
  pid = raw_fork();
  if (pid < 0) { int e = err(); close(fds[0]); close(fds[1]); return -e; }
  if (pid == 0) {
    int grandchild;
    close(fds[0]);
    grandchild = raw_fork();
    if (grandchild == 0) daemon_child(exefd, argv, envp, logfd, fds[1]);
    write_int(fds[1], grandchild < 0 ? -err() : grandchild);
    _exit(0);
  }
  close(fds[1]);
  if (read_int(fds[0], &daemon_pid) != (int)sizeof daemon_pid) daemon_pid = -5 /* EIO */;
  while (waitpid(pid, &status, 0) < 0 && err() == EINTR) {}
  if (daemon_pid > 0 && read_int(fds[0], &exec_errno) == (int)sizeof exec_errno) daemon_pid = -exec_errno;
  close(fds[0]);
  return daemon_pid;
}
