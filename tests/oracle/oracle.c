/*
 * The accuracy oracle: runs one command and writes the truth about it as one JSON line.
 *
 *   oracle OUT.jsonl CMD ARGS...
 *   ORACLE_OUT=OUT.jsonl ORACLE_SHELL=/bin/bash oracle -c CMD     (a shell stand-in)
 *
 * As a shell stand-in (ORACLE_SHELL set: a tool's `SHELL -c CMD`, e.g. Snakemake's shell.executable
 * through a symlink named like a shell), it runs `$ORACLE_SHELL ARGS...` with its own arguments and
 * appends the truth to $ORACLE_OUT; the child gets neither variable.
 *
 * Truth sources, independent of tracer:
 *   - fork and reap times on CLOCK_MONOTONIC and CLOCK_REALTIME (taken just before fork() and just
 *     after wait4() returns, each pair as one instant; the child's whole life lies between them);
 *   - /proc/PID/stat and /proc/PID/io read while the child is a zombie (waitid WEXITED|WNOWAIT), so
 *     they hold its final values (all threads; not its children);
 *   - wait4 rusage (user/system CPU in µs, max RSS in KiB; these include children it reaped, so
 *     wrap leaf processes), and the exit status.
 * Its own part, for comparing a span that holds the oracle itself: CLOCK_MONOTONIC at main() and
 * once the child is reaped and measured (just before the line is written), its own rusage then, and
 * its own start (the fork that made it) on CLOCK_MONOTONIC: the kernel's elapsed time of the task
 * (taskstats ac_etime, µs since task->start_time; needs CAP_NET_ADMIN, else -1).
 * The line is appended with one write(2) to OUT opened O_APPEND, so concurrent oracles do not mix.
 * The oracle exits with the child's status (a shell's convention: 128 + signal when killed), or 127
 * (not found) / 126 (not runnable) when the exec fails, as a shell would.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <linux/taskstats.h>
#include <sys/socket.h>

static long long ns(clockid_t c) {
  struct timespec ts;
  clock_gettime(c, &ts);
  return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Now on both clocks, as one instant: CLOCK_MONOTONIC, and CLOCK_REALTIME at that same instant (the
 * realtime reading moved by its distance from the middle of the two monotonic reads around it; the
 * tightest of 5 brackets). Two plain reads in a row differ by whatever interrupt came between them
 * (7 µs seen), and every monotonic time the oracle converts to epoch time through this pair would be
 * off by as much. */
static void clock_pair(long long *mono, long long *real) {
  long long best = -1;
  for (int i = 0; i < 5; i++) {
    long long a = ns(CLOCK_MONOTONIC), r = ns(CLOCK_REALTIME), b = ns(CLOCK_MONOTONIC);
    if (best < 0 || b - a < best) {
      best = b - a;
      *mono = b;
      *real = r + (b - a) - (b - a) / 2;
    }
  }
}

/* One generic-netlink request on `fd`, and its reply into `buf` (NLMSG bytes, or -1). */
static int genl_call(int fd, int family, int cmd, int attr, const void *val, int len, char *buf, int cap) {
  struct {
    struct nlmsghdr n;
    struct genlmsghdr g;
    char attrs[64];
  } req;
  memset(&req, 0, sizeof req);
  struct nlattr *a = (struct nlattr *)req.attrs;
  a->nla_type = (unsigned short)attr;
  a->nla_len = (unsigned short)(NLA_HDRLEN + len);
  memcpy((char *)a + NLA_HDRLEN, val, (size_t)len);
  req.n.nlmsg_len = NLMSG_LENGTH(GENL_HDRLEN) + NLA_ALIGN(a->nla_len);
  req.n.nlmsg_type = (unsigned short)family;
  req.n.nlmsg_flags = NLM_F_REQUEST;
  req.n.nlmsg_seq = 1;
  req.g.cmd = (unsigned char)cmd;
  req.g.version = 1;
  if (send(fd, &req, req.n.nlmsg_len, 0) < 0) return -1;
  int n = (int)recv(fd, buf, (size_t)cap, 0);
  if (n < (int)NLMSG_LENGTH(GENL_HDRLEN) || ((struct nlmsghdr *)buf)->nlmsg_type == NLMSG_ERROR) return -1;
  return n;
}

/* The attribute `type` among those at [p, end), or 0. */
static struct nlattr *find_attr(char *p, char *end, int type) {
  while (p + NLA_HDRLEN <= end) {
    struct nlattr *a = (struct nlattr *)p;
    if (a->nla_len < NLA_HDRLEN || p + a->nla_len > end) return 0;
    if ((a->nla_type & NLA_TYPE_MASK) == type) return a;
    p += NLA_ALIGN(a->nla_len);
  }
  return 0;
}

/* This task's start (the fork that made it) on CLOCK_MONOTONIC in ns: now − taskstats ac_etime. The
 * kernel computes ac_etime (µs, truncated) between the two clock readings around the request: the
 * start is the midpoint's, within *slack ns. -1 when taskstats cannot be asked. */
static long long own_start_mono(long long *slack) {
  char buf[2048];
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC);
  if (fd < 0) return -1;
  long long start = -1;
  int n = genl_call(fd, GENL_ID_CTRL, CTRL_CMD_GETFAMILY, CTRL_ATTR_FAMILY_NAME, TASKSTATS_GENL_NAME,
                    (int)sizeof TASKSTATS_GENL_NAME, buf, (int)sizeof buf);
  char *body = buf + NLMSG_LENGTH(GENL_HDRLEN);
  struct nlattr *id = n > 0 ? find_attr(body, buf + n, CTRL_ATTR_FAMILY_ID) : 0;
  if (id) {
    unsigned short family;
    memcpy(&family, (char *)id + NLA_HDRLEN, sizeof family);
    unsigned int pid = (unsigned int)getpid();
    long long before = ns(CLOCK_MONOTONIC);
    n = genl_call(fd, family, TASKSTATS_CMD_GET, TASKSTATS_CMD_ATTR_PID, &pid, (int)sizeof pid, buf, (int)sizeof buf);
    long long after = ns(CLOCK_MONOTONIC);
    struct nlattr *aggr = n > 0 ? find_attr(body, buf + n, TASKSTATS_TYPE_AGGR_PID) : 0;
    struct nlattr *st = aggr ? find_attr((char *)aggr + NLA_HDRLEN, (char *)aggr + aggr->nla_len, TASKSTATS_TYPE_STATS) : 0;
    if (st && st->nla_len >= NLA_HDRLEN + offsetof(struct taskstats, ac_etime) + sizeof(__u64)) {
      __u64 etime_us;
      memcpy(&etime_us, (char *)st + NLA_HDRLEN + offsetof(struct taskstats, ac_etime), sizeof etime_us);
      start = (before + after) / 2 - (long long)etime_us * 1000LL;
      *slack = (after - before) / 2 + 1000;
    }
  }
  close(fd);
  return start;
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
  long long main_mono = ns(CLOCK_MONOTONIC);
  const char *shell = getenv("ORACLE_SHELL");
  const char *out_path = shell ? getenv("ORACLE_OUT") : argv[1];
  /* the child's argv: ARGS after OUT, or as a shell stand-in $ORACLE_SHELL and every argument */
  char **cmd = argv + 2;
  if (shell) {
    argv[0] = (char *)shell;
    cmd = argv;
  }
  if (!out_path || !cmd[0] || (!shell && argc < 3)) {
    fprintf(stderr, "usage: oracle OUT.jsonl CMD ARGS... | ORACLE_OUT=OUT ORACLE_SHELL=SH oracle ARGS...\n");
    return 2;
  }
  int pipefd[2];
  if (pipe2(pipefd, O_CLOEXEC) < 0) return 2;
  long long fork_mono, fork_real;
  clock_pair(&fork_mono, &fork_real);
  pid_t pid = fork();
  if (pid < 0) return 2;
  if (pid == 0) {
    close(pipefd[0]);
    unsetenv("ORACLE_SHELL");
    unsetenv("ORACLE_OUT");
    unsetenv("ORACLE_HOLD_MS");
    execvp(cmd[0], cmd);
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

  /* ORACLE_HOLD_MS: leave the child a zombie that long before reaping it (a slow parent) */
  const char *hold = getenv("ORACLE_HOLD_MS");
  if (hold && atoi(hold) > 0) {
    struct timespec ts = {atoi(hold) / 1000, (long)(atoi(hold) % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {}
  }
  int status = 0;
  struct rusage ru;
  while (wait4(pid, &status, 0, &ru) < 0 && errno == EINTR) {}
  long long reap_mono, reap_real;
  clock_pair(&reap_mono, &reap_real);

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
  long long own_slack = -1, own_start = own_start_mono(&own_slack);
  struct rusage self;
  getrusage(RUSAGE_SELF, &self);
  long long done_mono = ns(CLOCK_MONOTONIC);

  char line[2048];
  int n = snprintf(
      line, sizeof line,
      "{\"pid\":%d,\"oraclePid\":%d,\"startTicks\":%llu,\"execErrno\":%d,\"exitCode\":%d,\"signal\":%d,"
      "\"forkMonoNs\":%lld,\"forkRealNs\":%lld,\"zombieMonoNs\":%lld,\"reapMonoNs\":%lld,\"reapRealNs\":%lld,"
      "\"userUs\":%lld,\"systemUs\":%lld,\"maxRssKb\":%ld,\"statUtimeTicks\":%llu,\"statStimeTicks\":%llu,"
      "\"rchar\":%lld,\"wchar\":%lld,\"readBytes\":%lld,\"writeBytes\":%lld,"
      "\"ownStartMonoNs\":%lld,\"ownStartSlackNs\":%lld,\"mainMonoNs\":%lld,\"doneMonoNs\":%lld,\"selfUserUs\":%lld,\"selfSystemUs\":%lld}\n",
      pid, getpid(), start_ticks, exec_errno, code, sig, fork_mono, fork_real, zombie_mono, reap_mono, reap_real,
      (long long)ru.ru_utime.tv_sec * 1000000LL + ru.ru_utime.tv_usec,
      (long long)ru.ru_stime.tv_sec * 1000000LL + ru.ru_stime.tv_usec, ru.ru_maxrss, utime, stime,
      io_field(io, "rchar: "), io_field(io, "wchar: "), io_field(io, "read_bytes: "),
      io_field(io, "\nwrite_bytes: "), own_start, own_slack, main_mono, done_mono,
      (long long)self.ru_utime.tv_sec * 1000000LL + self.ru_utime.tv_usec,
      (long long)self.ru_stime.tv_sec * 1000000LL + self.ru_stime.tv_usec);
  int out = open(out_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (out >= 0) {
    if (write(out, line, (size_t)n) < 0) {}
    close(out);
  }
  if (sig) return 128 + sig;
  return code;
}
