/*
 * tracer's netlink socket helper: open, bind, size, send and drain a non-blocking AF_NETLINK socket.
 *
 * Compiled at run time by bun:ffi's TinyCC. Forward declarations only: a user's machine may have no
 * C headers. Every function returns -errno on failure, so errno never has to cross into JavaScript
 * (where the runtime could overwrite it between two FFI calls).
 *
 * tn_drain copies every pending datagram into one caller buffer, each starting on a 4-byte boundary,
 * so the buffer reads as one stream of netlink messages. It never blocks (MSG_DONTWAIT) and reads up to
 * TN_BATCH datagrams per system call (recvmmsg), each into a TN_SLOT-byte slot. When the kernel reports
 * ENOBUFS (a multicast message was dropped because our receive queue was full), or a datagram did not
 * fit its slot, it writes a 16-byte marker message in its place, in order:
 *   nlmsghdr{len=16, type=TN_MARK_ENOBUFS (0xFFFF) or TN_MARK_TRUNC (0xFFFE)}.
 */
typedef long ssize_t;
typedef unsigned long size_t;
typedef unsigned int socklen_t;

int socket(int domain, int type, int protocol);
int bind(int fd, const void *addr, socklen_t len);
int setsockopt(int fd, int level, int name, const void *value, socklen_t len);
int getsockopt(int fd, int level, int name, void *value, socklen_t *len);
ssize_t sendto(int fd, const void *buf, size_t n, int flags, const void *addr, socklen_t len);
int recvmmsg(int fd, void *msgs, unsigned int n, int flags, void *timeout);
int close(int fd);
int clock_gettime(int clock, void *ts);
int sched_getaffinity(int pid, size_t size, void *mask);
int sched_setaffinity(int pid, size_t size, const void *mask);
int *__errno_location(void);
void *memmove(void *dst, const void *src, size_t n);

#define AF_NETLINK 16
#define SOCK_RAW 3
#define SOCK_NONBLOCK 04000
#define SOCK_CLOEXEC 02000000
#define SOL_SOCKET 1
#define SO_RCVBUF 8
#define SO_RCVBUFFORCE 33
#define MSG_DONTWAIT 0x40
#define MSG_TRUNC 0x20
#define EINTR 4
#define EAGAIN 11
#define ENOBUFS 105
#define CLOCK_REALTIME 0
#define CLOCK_MONOTONIC 1
#define CLOCK_BOOTTIME 7

#define TN_MARK_ENOBUFS 0xFFFF
#define TN_MARK_TRUNC 0xFFFE
#define TN_RESERVE 65536
/* A slot per datagram: the largest these sockets carry is a taskstats exit record with both the
 * process's and its thread group's aggregate (~0.9 KiB); a proc connector event is 76 bytes. */
#define TN_SLOT 8192
#define TN_BATCH 64

/* recvmmsg's vector (struct iovec, struct msghdr and struct mmsghdr of the Linux ABI, 64-bit) */
struct tn_iovec {
  void *base;
  size_t len;
};
struct tn_msghdr {
  void *name;
  unsigned int namelen;
  struct tn_iovec *iov;
  size_t iovlen;
  void *control;
  size_t controllen;
  int flags;
};
struct tn_mmsghdr {
  struct tn_msghdr hdr; /* 56 bytes: len starts after its tail padding */
  unsigned int len;
};

struct tn_sockaddr_nl {
  unsigned short nl_family;
  unsigned short nl_pad;
  unsigned int nl_pid;
  unsigned int nl_groups;
};

struct tn_timespec {
  long tv_sec;
  long tv_nsec;
};

static int neg_errno(void) { return -*__errno_location(); }

/* socket(AF_NETLINK, SOCK_RAW|NONBLOCK|CLOEXEC, protocol) bound to `groups`; nl_pid 0 = kernel picks. */
int tn_open(int protocol, unsigned int groups) {
  struct tn_sockaddr_nl sa;
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol);
  if (fd < 0) return neg_errno();
  sa.nl_family = AF_NETLINK;
  sa.nl_pad = 0;
  sa.nl_pid = 0;
  sa.nl_groups = groups;
  if (bind(fd, &sa, sizeof sa) < 0) {
    int e = neg_errno();
    close(fd);
    return e;
  }
  return fd;
}

/* Ask for `bytes` of receive buffer: SO_RCVBUFFORCE first when force != 0 (needs CAP_NET_ADMIN), then
 * SO_RCVBUF (capped by net.core.rmem_max). Returns the effective size the kernel reports (it doubles). */
int tn_rcvbuf(int fd, int bytes, int force) {
  int got = 0;
  socklen_t len = sizeof got;
  if (!force || setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &bytes, sizeof bytes) < 0) {
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof bytes) < 0) return neg_errno();
  }
  if (getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &got, &len) < 0) return neg_errno();
  return got;
}

/* Send one request to the kernel (nl_pid 0). Returns bytes sent or -errno. */
int tn_send(int fd, const void *buf, int n) {
  struct tn_sockaddr_nl sa;
  ssize_t r;
  sa.nl_family = AF_NETLINK;
  sa.nl_pad = 0;
  sa.nl_pid = 0;
  sa.nl_groups = 0;
  do {
    r = sendto(fd, buf, (size_t)n, 0, &sa, sizeof sa);
  } while (r < 0 && *__errno_location() == EINTR);
  return r < 0 ? neg_errno() : (int)r;
}

/* tn_send from CPU `cpu`: pin the calling thread there for the one send, then restore its affinity.
 * The proc connector's ACK is numbered in the sending CPU's sequence, so this gives a listener a
 * fresh sequence number from every CPU. Returns bytes sent or -errno. */
int tn_send_on_cpu(int fd, const void *buf, int n, int cpu) {
  unsigned long saved[16];
  unsigned long one[16];
  int i, r;
  if (cpu < 0 || cpu >= 1024) return -22;
  if (sched_getaffinity(0, sizeof saved, saved) < 0) return neg_errno();
  for (i = 0; i < 16; i++) one[i] = 0;
  one[cpu / 64] = 1UL << (cpu % 64);
  if (sched_setaffinity(0, sizeof one, one) < 0) return neg_errno();
  r = tn_send(fd, buf, n);
  sched_setaffinity(0, sizeof saved, saved);
  return r;
}

static int put_mark(unsigned char *buf, int at, int type) {
  unsigned int *h = (unsigned int *)(buf + at);
  h[0] = 16;
  h[1] = (unsigned int)type; /* type u16 + flags u16 = 0 */
  h[2] = 0;
  h[3] = 0;
  return at + 16;
}

/* Copy pending datagrams into buf[0..cap). Returns bytes written (0 = nothing pending) or -errno for
 * an error other than EAGAIN/ENOBUFS. Stops when less than TN_RESERVE bytes remain, or after
 * `max_msgs` datagrams, so the caller's event loop gets the CPU back regularly.
 *
 * Each recvmmsg reads into slots laid out from the write position on; the datagrams are then packed
 * down in order (a datagram never moves up: each takes at most its slot). One system call per batch,
 * not one per datagram: a recv costs ~1 us of entry and exit alone on a virtualised host, and a busy
 * run queues thousands of events between two drains. */
int tn_drain(int fd, unsigned char *buf, int cap, int max_msgs) {
  struct tn_iovec iov[TN_BATCH];
  struct tn_mmsghdr msg[TN_BATCH];
  int at = 0;
  int count = 0;
  int i;
  while (cap - at >= TN_RESERVE && count < max_msgs) {
    int slots = (cap - at - 16) / TN_SLOT;
    if (slots > TN_BATCH) slots = TN_BATCH;
    if (slots > max_msgs - count) slots = max_msgs - count;
    for (i = 0; i < slots; i++) {
      iov[i].base = buf + at + i * TN_SLOT;
      iov[i].len = TN_SLOT;
      msg[i].hdr.name = 0;
      msg[i].hdr.namelen = 0;
      msg[i].hdr.iov = &iov[i];
      msg[i].hdr.iovlen = 1;
      msg[i].hdr.control = 0;
      msg[i].hdr.controllen = 0;
      msg[i].hdr.flags = 0;
      msg[i].len = 0;
    }
    int got = recvmmsg(fd, msg, (unsigned int)slots, MSG_DONTWAIT | MSG_TRUNC, 0);
    if (got < 0) {
      int e = *__errno_location();
      if (e == EINTR) continue;
      if (e == EAGAIN) break;
      if (e == ENOBUFS) {
        at = put_mark(buf, at, TN_MARK_ENOBUFS);
        continue;
      }
      return at > 0 ? at : -e;
    }
    int base = at;
    for (i = 0; i < got; i++) {
      unsigned char *src = buf + base + i * TN_SLOT;
      unsigned int n = msg[i].len; /* with MSG_TRUNC: the datagram's whole length */
      count++;
      if (n > TN_SLOT || (msg[i].hdr.flags & MSG_TRUNC)) {
        at = put_mark(buf, at, TN_MARK_TRUNC);
        continue;
      }
      if (buf + at != src) memmove(buf + at, src, n);
      at += (int)((n + 3) & ~3U);
    }
    /* fewer than asked: the queue ran dry, or an error (ENOBUFS) waits for the next call, which the
     * loop makes at once so a mark is never left behind the drain that stopped short of its cap */
  }
  return at;
}

int tn_close(int fd) { return close(fd) < 0 ? neg_errno() : 0; }

/* CLOCK_MONOTONIC in ns: the clock of the connector's timestamp_ns (ktime_get_ns). */
double tn_monotonic_ns(void) {
  struct tn_timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static long long tn_ns(int clock) {
  struct tn_timespec ts;
  clock_gettime(clock, &ts);
  return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Exact offsets between the kernel's clocks, in ms: out[0] = CLOCK_REALTIME − CLOCK_MONOTONIC (epoch ms
 * of a connector timestamp = timestamp_ms + out[0]), out[1] = CLOCK_REALTIME − CLOCK_BOOTTIME (epoch ms
 * of boot: /proc start ticks are BOOTTIME). Each clock is read between two reads of the other and the
 * pair with the smallest bracket (the fewest ns between them) is kept: tens of ns of uncertainty. */
void tn_clock_offsets(double *out) {
  int i, k;
  int clocks[2] = {CLOCK_MONOTONIC, CLOCK_BOOTTIME};
  for (k = 0; k < 2; k++) {
    long long best = -1, off = 0;
    for (i = 0; i < 5; i++) {
      long long a = tn_ns(clocks[k]);
      long long r = tn_ns(CLOCK_REALTIME);
      long long b = tn_ns(clocks[k]);
      if (best < 0 || b - a < best) {
        best = b - a;
        off = r - (a + (b - a) / 2);
      }
    }
    out[k] = (double)off / 1e6;
  }
}
