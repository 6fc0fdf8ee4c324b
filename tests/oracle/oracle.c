/*
 * The accuracy oracle: runs one command and writes the truth about it as one JSON line.
 *
 *   oracle OUT.jsonl CMD ARGS...
 *
 * Truth sources, independent of tracer:
 *   - fork and reap times on CLOCK_MONOTONIC and CLOCK_REALTIME (taken just before fork() and just
 *     after wait4() returns; the child's whole life lies between them);
 *   - /proc/PID/stat and /proc/PID/io read while the child is a zombie (waitid WEXITED|WNOWAIT), so
 *     they hold its final values (all threads; not its children);
 *   - wait4 rusage (user/system CPU in µs, max RSS in KiB; these include children it reaped, so
 *     wrap leaf processes), and the exit status.
 * The line is appended with one write(2) to OUT opened O_APPEND, so concurrent oracles do not mix.
 * The oracle exits with the child's status (a shell's convention: 128 + signal when killed), or 127
 * (not found) / 126 (not runnable) when the exec fails, as a shell would.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long ns(clockid_t c) {
  struct timespec ts;
  clock_gettime(c, &ts);
  return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int slurp(const char *path, char *buf, size_t cap) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t n = read(fd, buf, cap - 1);
  close(fd);
  if (n < 0) return -1;
  buf[n] = 0;
  return (int)n;
}

static long long io_field(const char *io, const char *key) {
  const char *p = strstr(io, key);
  if (!p) return -1;
  return atoll(p + strlen(key));
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: oracle OUT.jsonl CMD ARGS...\n");
    return 2;
  }
  int pipefd[2];
  if (pipe2(pipefd, O_CLOEXEC) < 0) return 2;
  long long fork_mono = ns(CLOCK_MONOTONIC), fork_real = ns(CLOCK_REALTIME);
  pid_t pid = fork();
  if (pid < 0) return 2;
  if (pid == 0) {
    close(pipefd[0]);
    execvp(argv[2], argv + 2);
    int e = errno;
    if (write(pipefd[1], &e, sizeof e) < 0) {}
    _exit(e == ENOENT ? 127 : 126);
  }
  close(pipefd[1]);
  int exec_errno = 0;
  if (read(pipefd[0], &exec_errno, sizeof exec_errno) != sizeof exec_errno) exec_errno = 0;
  close(pipefd[0]);

  siginfo_t si;
  memset(&si, 0, sizeof si);
  while (waitid(P_PID, pid, &si, WEXITED | WNOWAIT) < 0 && errno == EINTR) {}
  long long zombie_mono = ns(CLOCK_MONOTONIC);
  char path[64], stat[4096], io[1024];
  snprintf(path, sizeof path, "/proc/%d/stat", pid);
  if (slurp(path, stat, sizeof stat) < 0) stat[0] = 0;
  snprintf(path, sizeof path, "/proc/%d/io", pid);
  if (slurp(path, io, sizeof io) < 0) io[0] = 0;

  int status = 0;
  struct rusage ru;
  while (wait4(pid, &status, 0, &ru) < 0 && errno == EINTR) {}
  long long reap_mono = ns(CLOCK_MONOTONIC), reap_real = ns(CLOCK_REALTIME);

  /* /proc/PID/stat after the last ')': field 3 is state; 14 utime, 15 stime, 22 starttime */
  unsigned long long utime = 0, stime = 0, start_ticks = 0;
  char *p = strrchr(stat, ')');
  if (p) {
    int field = 2;
    for (char *q = p + 1; *q; q++) {
      if (*q != ' ') continue;
      field++;
      if (field == 14) utime = strtoull(q + 1, 0, 10);
      if (field == 15) stime = strtoull(q + 1, 0, 10);
      if (field == 22) start_ticks = strtoull(q + 1, 0, 10);
    }
  }
  int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  int sig = WIFSIGNALED(status) ? WTERMSIG(status) : 0;

  char line[2048];
  int n = snprintf(
      line, sizeof line,
      "{\"pid\":%d,\"oraclePid\":%d,\"startTicks\":%llu,\"execErrno\":%d,\"exitCode\":%d,\"signal\":%d,"
      "\"forkMonoNs\":%lld,\"forkRealNs\":%lld,\"zombieMonoNs\":%lld,\"reapMonoNs\":%lld,\"reapRealNs\":%lld,"
      "\"userUs\":%lld,\"systemUs\":%lld,\"maxRssKb\":%ld,\"statUtimeTicks\":%llu,\"statStimeTicks\":%llu,"
      "\"rchar\":%lld,\"wchar\":%lld,\"readBytes\":%lld,\"writeBytes\":%lld}\n",
      pid, getpid(), start_ticks, exec_errno, code, sig, fork_mono, fork_real, zombie_mono, reap_mono, reap_real,
      (long long)ru.ru_utime.tv_sec * 1000000LL + ru.ru_utime.tv_usec,
      (long long)ru.ru_stime.tv_sec * 1000000LL + ru.ru_stime.tv_usec, ru.ru_maxrss, utime, stime,
      io_field(io, "rchar: "), io_field(io, "wchar: "), io_field(io, "read_bytes: "),
      io_field(io, "\nwrite_bytes: "));
  int out = open(argv[1], O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (out >= 0) {
    if (write(out, line, (size_t)n) < 0) {}
    close(out);
  }
  if (sig) return 128 + sig;
  return code;
}
