/*
 * tracer run's argv and cwd at exec, read in the kernel: an eBPF program on the sched_process_exec
 * raw tracepoint that, for every exec of a process the scheduler-runtime ledger follows (ffi/schedrt.c:
 * its map holds the tree's tgids), copies the new image's command line (mm->arg_start..arg_end, the
 * bytes /proc/PID/cmdline shows) and its working directory (fs->pwd, walked up through its dentries
 * and mounts as the kernel's d_path does) into a ring buffer the recorder empties when it looks (xa_take).
 *
 * Why: the exec watcher's thread (ffi/execwatch.c) reads /proc/PID/cmdline and /proc/PID/cwd at each
 * exec before a short process ends; each exec woke it (a poll wake-up, two receives, an open, read,
 * close and readlink: ~90 µs of CPU per exec on a PVM guest, a third of tracer run's cost per process).
 * Here the kernel hands the bytes over in the exec itself: nothing wakes, nothing can end first. Once
 * this is attached, tracer run filters the watcher's exec socket down to the execs this program could
 * not put in its ring (xa_filter_execs: a full ring, an argv it could not read), which the thread then
 * reads from /proc as before; before (the ledger opens after CMD starts), and for a process the ledger
 * does not follow, the thread reads every exec.
 *
 * Record in the ring (each 8-byte aligned by the ring): u32 tgid, u32 argv bytes in full, u32 argv
 * bytes kept (at most XA_ARGV_CAP), u16 cwd bytes (0: unknown), u16 0, u64 CLOCK_MONOTONIC ns of the
 * exec, cwd, argv. xa_take hands them over in the exec watcher's ring layout (execwatch.c), so the
 * caller reads both alike.
 *
 * The cwd: names from the working directory's dentry up to tracer's own root (fs->root of tracer,
 * kept by a test run of the program at load), crossing each mount at its root to its mountpoint, up to
 * the mount namespace's root: the path readlink on /proc/PID/cwd gives tracer, a chroot'ed process's
 * and one in another mount namespace included, and " (deleted)" after a removed directory as d_path
 * writes it. (Where that test run cannot be had, before Linux 5.10, the walk stops at the process's
 * own root.) A run of the program takes XA_STEPS steps (components and mount crossings) at most, then
 * continues the walk in another run by a tail call (itself, in a one-entry program array), up to the
 * kernel's 33: 136 steps. A walk deeper than that is left to the exec watcher's thread, as a record
 * the ring cannot hold is (the process is marked missed: the thread reads /proc/PID/cwd at once). The
 * verifier checks each step of a run once, so a run's steps cost every `tracer run` (the load's CPU,
 * each bpf() call clocked in a C harness, 3 runs, 2 Dec 2026: 2 steps 1.12-1.36 ms, 4 1.54-1.61, 8
 * 2.51-2.68; earlier, by strace -T: 16 ~4.1, 128 ~11 ms), while a tail call costs an exec tens of ns,
 * and a path that deep is rare. Unknown (0 bytes: the caller keeps the
 * parent's) when longer than XA_CWD_MAX bytes or a dentry is no mount's root yet has no parent. The walk takes no lock, so a rename during the exec may show
 * either name.
 *
 * Offsets come from the kernel's BTF (/sys/kernel/btf/vmlinux), members of anonymous structs and
 * unions included (mm_struct keeps its fields in one). Compiled like the other helpers (prebuilt object
 * or TinyCC); forward declarations only. Needs the ledger open (its map fd) and a kernel with ring
 * buffers (5.8+); every failure leaves the watcher's thread doing the work (xa_status_now < 0).
 * Functions return -errno on failure.
 */
typedef long ssize_t;
typedef unsigned long size_t;
typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long long u64;

long syscall(long number, ...);
int open(const char *path, int flags, ...);
ssize_t pread(int fd, void *buf, size_t n, long offset);
ssize_t read(int fd, void *buf, size_t n);
long lseek(int fd, long off, int whence);
int close(int fd);
int getpagesize(void);
void *mmap(void *addr, size_t len, int prot, int flags, int fd, long off);
int munmap(void *addr, size_t len);
void *malloc(size_t n);
void free(void *p);
void *memcpy(void *dst, const void *src, size_t n);
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
#define PROT_READ 1
#define PROT_WRITE 2
#define MAP_SHARED 1
#define MAP_PRIVATE 2
#define ENOENT 2
#define ENOMEM 12
#define EINVAL 22
#define ENOSYS 38
#define EPROTO 71

#define BPF_MAP_CREATE 0
#define BPF_PROG_LOAD 5
#define BPF_PROG_TEST_RUN 10
#define BPF_RAW_TRACEPOINT_OPEN 17
#define BPF_MAP_TYPE_ARRAY 2
#define BPF_MAP_TYPE_LRU_HASH 9
#define BPF_MAP_TYPE_RINGBUF 27
#define BPF_PROG_TYPE_SOCKET_FILTER 1
#define BPF_PROG_TYPE_RAW_TRACEPOINT 17

#define FN_LOOKUP 1
#define FN_UPDATE 2
#define FN_DELETE 3
#define FN_KTIME_NS 5
#define FN_SKB_LOAD_BYTES 26
#define FN_CPU 8
#define FN_PROBE_READ_USER 112
#define FN_PROBE_READ_KERNEL 113
#define FN_PROBE_READ_KERNEL_STR 115
#define FN_RINGBUF_OUTPUT 130

#define XA_HEAD 24
#define XA_OUT_HEAD 40 /* a record as xa_take hands it over: the exec watcher's (execwatch.c HEAD) */
#define XA_ARGV_CAP 65536 /* src/observe/argv.ts ARGV_CAP_BYTES, as the watcher's thread keeps */
#define XA_CWD_MAX 4096   /* PATH_MAX */
#define XA_NAME_MAX 256   /* NAME_MAX and its NUL */
#define XA_STEPS 4        /* walk steps of one program run: path components and mount crossings */
#define XA_TAIL_CALLS 33  /* the kernel's MAX_TAIL_CALL_CNT: the walk goes on in up to 33 more runs */
/* The scratch value: the record (head, cwd, argv) at XA_REC_AT, and before it, at negative offsets
 * from the record (an instruction's offset field holds 16 bits), the path as it is put together, one
 * name read, and where the path starts. */
#define XA_PATH_AT (-(XA_CWD_MAX + 8))
#define XA_NAME_AT (XA_PATH_AT - XA_NAME_MAX)
#define XA_POS_AT (XA_NAME_AT - 8)
/* a walk continued by a tail call (see L_MORE): a flag, then the dentry, mount and roots it is at */
#define XA_CONT_AT (XA_POS_AT - 40)
#define XA_REC_AT (-XA_CONT_AT)
#define XA_VALUE (XA_REC_AT + XA_HEAD + XA_CWD_MAX + XA_ARGV_CAP)
#define XA_MAX_WANT 32
#define XA_RING (1 << 20) /* ~4,000 execs of ordinary length between two takes (a take at every exec event drained) */
#define XA_MISSED 4096 /* processes whose latest exec is not in the ring (least recently used go first) */

/* ------------------------------------------------------------------------------------------------ */
/* The kernel's BTF: byte offsets of struct members, through anonymous structs and unions.           */

struct xa_member {
  const char *type;
  const char *member;
  long offset; /* out: -1 until found */
};

struct xa_btf {
  const u8 *types; /* the type section */
  long types_len;
  const char *strs; /* the string section */
  long strs_len;
  u32 *at; /* byte offset of each type id in `types` (ids from 1) */
  long ids;
  /* not mapped: both sections read as far as looked at (types in order; names mostly come in the
   * order their types do), into buffers of their full size whose untouched pages stay unallocated */
  int fd;
  long types_off, strs_off, types_have, strs_have;
  u8 *types_buf;
  char *strs_buf;
};

static void zero(void *p, size_t n);

/* Make buf[0..upto) (at most len) readable: read on from *have at file offset off + *have. 0, or -1. */
static int btf_fill(int fd, u8 *buf, long *have, long upto, long len, long off) {
  if (upto > len) upto = len;
  if (*have >= upto) return 0;
  upto = upto + 65536 < len ? upto + 65536 : len; /* ahead: sysfs hands over 4 KiB a read */
  while (*have < upto) {
    ssize_t r = pread(fd, buf + *have, (size_t)(upto - *have), off + *have);
    if (r <= 0) return -1;
    *have += r;
  }
  return 0;
}

/* types[0..upto) readable? 0, or -1 */
static int btf_types_upto(struct xa_btf *b, long upto) {
  if (upto > b->types_len) return -1;
  if (!b->types_buf) return 0;
  return btf_fill(b->fd, b->types_buf, &b->types_have, upto, b->types_len, b->types_off);
}

/* Is the string at `name` equal to `want`? */
static int btf_same(struct xa_btf *b, u32 name, const char *want) {
  long n = 0;
  while (want[n]) n++;
  if ((long)name + n + 1 > b->strs_len) return 0;
  if (b->strs_buf && btf_fill(b->fd, (u8 *)b->strs_buf, &b->strs_have, (long)name + n + 1, b->strs_len, b->strs_off) < 0)
    return 0;
  const char *s = b->strs + name;
  for (long i = 0; i < n; i++)
    if (s[i] != want[i]) return 0;
  return s[n] == 0;
}

/* the bytes of type data after its 12-byte header, by kind (0: unknown kind: stop) */
static long btf_data_size(u32 info) {
  u32 vlen = info & 0xffff, kind = (info >> 24) & 0x1f;
  if (kind == 1 || kind == 14 || kind == 17) return 4;
  if (kind == 3) return 12;
  if (kind == 4 || kind == 5 || kind == 15 || kind == 19) return vlen * 12L;
  if (kind == 6 || kind == 13) return vlen * 8L;
  if (kind == 2 || kind == 7 || (kind >= 8 && kind <= 12) || kind == 16 || kind == 18 || kind == 20) return 0;
  return -1;
}

/* the offset of `member` in the struct/union at `t` (its type header), looking into anonymous members
 * (depth levels at most); -1 when it is not there or is a bitfield */
static long btf_find(struct xa_btf *b, const u32 *t, const char *member, int depth) {
  u32 vlen = t[1] & 0xffff, kflag = t[1] >> 31;
  const u32 *m = t + 3;
  for (u32 i = 0; i < vlen; i++, m += 3) {
    u32 bits = kflag ? m[2] & 0xffffff : m[2];
    if (m[0] != 0 && btf_same(b, m[0], member)) return bits % 8 ? -1 : (long)(bits / 8);
  }
  if (depth <= 0) return -1;
  m = t + 3;
  for (u32 i = 0; i < vlen; i++, m += 3) {
    if (m[0] != 0) continue;
    u32 id = m[1];
    /* through typedefs and qualifiers to the struct or union */
    for (int hops = 0; hops < 8 && id > 0 && id < (u32)b->ids; hops++) {
      const u32 *u = (const u32 *)(b->types + b->at[id]);
      u32 kind = (u[1] >> 24) & 0x1f;
      if (kind == 4 || kind == 5) {
        long inner = btf_find(b, u, member, depth - 1);
        u32 bits = kflag ? m[2] & 0xffffff : m[2];
        if (inner >= 0 && bits % 8 == 0) return (long)(bits / 8) + inner;
        break;
      }
      if (kind < 8 || kind > 11) break;
      id = u[2];
    }
  }
  return -1;
}

/* Fill want[i].offset for every entry: 0, or -errno (-ENOENT: a member is not there). The file is
 * mapped where the kernel allows it (Linux 6.16+: no copy, only the pages looked at are touched), else
 * read as far as needed (sysfs hands it over 4 KiB a read: all of its ~5 MB took 34 ms of system time
 * here; the types up to `mount` are 0.6 MB of it). */
static int btf_offsets(struct xa_member *want, int n) {
  struct xa_btf b;
  zero(&b, sizeof b);
  int result = -EPROTO;
  u32 hdr[6];
  b.fd = open("/sys/kernel/btf/vmlinux", O_RDONLY | O_CLOEXEC);
  if (b.fd < 0) return -ENOENT;
  long len = lseek(b.fd, 0, 2 /* SEEK_END */);
  u8 *map = len > 24 ? (u8 *)mmap(0, (size_t)len, PROT_READ, MAP_PRIVATE, b.fd, 0) : (u8 *)-1L;
  if (map != (u8 *)-1L) memcpy(hdr, map, sizeof hdr);
  else if (pread(b.fd, hdr, sizeof hdr, 0) != sizeof hdr) goto done;
  if ((hdr[0] & 0xffff) != 0xeb9f || (long)hdr[1] + hdr[2] + hdr[3] > len || (long)hdr[1] + hdr[4] + hdr[5] > len ||
      n > XA_MAX_WANT)
    goto done;
  b.types_off = (long)hdr[1] + hdr[2];
  b.types_len = hdr[3];
  b.strs_off = (long)hdr[1] + hdr[4];
  b.strs_len = hdr[5];
  result = -ENOMEM;
  if (map != (u8 *)-1L) {
    b.types = map + b.types_off;
    b.strs = (const char *)map + b.strs_off;
  } else {
    b.types_buf = (u8 *)malloc((size_t)b.types_len);
    b.strs_buf = (char *)malloc((size_t)b.strs_len);
    if (!b.types_buf || !b.strs_buf) goto done;
    b.types = b.types_buf;
    b.strs = b.strs_buf;
  }
  long max_ids = b.types_len / 12 + 2;
  b.at = (u32 *)malloc((size_t)max_ids * sizeof(u32));
  if (!b.at) goto done;
  for (int i = 0; i < n; i++) want[i].offset = -1;
  /* Types in order, each indexed by id, until every wanted struct is found and the anonymous structs
   * and unions they hold (which may come before or after them) are indexed too. */
  long struct_at[XA_MAX_WANT];
  for (int i = 0; i < n; i++) struct_at[i] = -1;
  int left = n;
  u32 need = 0; /* the highest type id of an anonymous member of a wanted struct */
  long at = 0;
  b.ids = 1;
  while ((left > 0 || (u32)b.ids <= need) && btf_types_upto(&b, at + 12) == 0) {
    const u32 *t = (const u32 *)(b.types + at);
    long size = btf_data_size(t[1]);
    if (size < 0 || btf_types_upto(&b, at + 12 + size) < 0 || b.ids >= max_ids) break;
    b.at[b.ids++] = (u32)at;
    u32 kind = (t[1] >> 24) & 0x1f;
    if (kind == 4 && t[0] != 0)
      for (int i = 0; i < n; i++)
        if (struct_at[i] < 0 && btf_same(&b, t[0], want[i].type)) {
          struct_at[i] = at;
          left--;
          for (u32 k = 0; k < (t[1] & 0xffff); k++)
            if (t[3 + 3 * k] == 0 && t[4 + 3 * k] > need) need = t[4 + 3 * k];
        }
    at += 12 + size;
  }
  for (int i = 0; i < n; i++)
    if (struct_at[i] >= 0) want[i].offset = btf_find(&b, (const u32 *)(b.types + struct_at[i]), want[i].member, 2);
  result = 0;
  for (int i = 0; i < n; i++)
    if (want[i].offset < 0) result = -ENOENT;
done:
  free(b.at);
  free(b.types_buf);
  free(b.strs_buf);
  if (map != (u8 *)-1L) munmap(map, (size_t)len);
  close(b.fd);
  return result;
}

/* ------------------------------------------------------------------------------------------------ */
/* A small assembler: eBPF instructions with labelled jumps.                                          */

struct xa_insn {
  u8 code;
  u8 regs;
  short off;
  int imm;
};

#define XA_MAX_INSNS 512
#define XA_LABELS 24
#define XA_FIXES 80

struct xa_asm {
  struct xa_insn p[XA_MAX_INSNS];
  int n;
  int label[XA_LABELS];
  int fix_at[XA_FIXES], fix_label[XA_FIXES], fixes;
  int bad;
};

static void emit(struct xa_asm *a, u8 code, int dst, int src, int off, int imm) {
  if (a->n >= XA_MAX_INSNS) {
    a->bad = 1;
    return;
  }
  struct xa_insn *i = &a->p[a->n++];
  i->code = code;
  i->regs = (u8)(dst | (src << 4));
  i->off = (short)off;
  i->imm = imm;
}

static void jump(struct xa_asm *a, u8 code, int dst, int src, int imm, int label) {
  if (a->fixes >= XA_FIXES || label < 0 || label >= XA_LABELS) {
    a->bad = 1;
    return;
  }
  a->fix_at[a->fixes] = a->n;
  a->fix_label[a->fixes++] = label;
  emit(a, code, dst, src, 0, imm);
}

static void here(struct xa_asm *a, int label) {
  if (label < 0 || label >= XA_LABELS) a->bad = 1;
  else a->label[label] = a->n;
}

static void ld_map(struct xa_asm *a, int dst, int fd) {
  emit(a, 0x18, dst, 1 /* BPF_PSEUDO_MAP_FD */, 0, fd);
  emit(a, 0, 0, 0, 0, 0);
}

/* *(u64 *)(fp + slot) = *(u64 *)(reg + off), through bpf_probe_read_kernel */
static void read8(struct xa_asm *a, int slot, int reg, int off) {
  emit(a, 0xbf, 1, 10, 0, 0);      /* r1 = fp */
  emit(a, 0x07, 1, 0, 0, slot);    /* r1 += slot */
  emit(a, 0xb7, 2, 0, 0, 8);       /* r2 = 8 */
  emit(a, 0xbf, 3, reg, 0, 0);     /* r3 = reg */
  emit(a, 0x07, 3, 0, 0, off);     /* r3 += off */
  emit(a, 0x85, 0, 0, 0, FN_PROBE_READ_KERNEL);
}

/* reg = *(u64 *)(fp + slot) */
static void load_slot(struct xa_asm *a, int reg, int slot) {
  emit(a, 0x79, reg, 10, slot, 0);
}

static int resolve(struct xa_asm *a) {
  if (a->bad) return -1;
  for (int i = 0; i < a->fixes; i++) a->p[a->fix_at[i]].off = (short)(a->label[a->fix_label[i]] - a->fix_at[i] - 1);
  return 0;
}

/* ------------------------------------------------------------------------------------------------ */

enum { O_TGID, O_MM, O_FS, O_ARG_START, O_ARG_END, O_PWD, O_ROOT, O_PATH_MNT, O_PATH_DENTRY, O_D_PARENT,
       O_D_NAME, O_QSTR_NAME, O_MNT_ROOT, O_MOUNT_MNT, O_MNT_PARENT, O_MNT_MOUNTPOINT, O_D_HASH, O_PPREV, O_COUNT };

enum { L_OUT, L_NOCWD, L_WALK, L_NOTROOT, L_INMOUNT, L_WALKED, L_JOIN, L_CWDDONE, L_ARGV, L_FITS, L_SEND, L_MISSED, L_SENT,
       L_EXEC, L_ROOTSET, L_LINKED, L_FRESH, L_MORE };

/* fp slots */
#define S_TGID -8
#define S_CPU -16
#define S_PTR -24
#define S_DENTRY -32
#define S_MNT -40
#define S_ROOT_DENTRY -48
#define S_ROOT_MNT -56
#define S_T1 -64
#define S_T2 -72
#define S_ARG_START -80
#define S_ARG_END -88
#define S_KEPT -96
#define S_CLAMP -104
#define S_ONE -112
#define S_ZERO -120
#define S_CTX -128

#define FN_CURRENT_TASK 35
#define FN_TAIL_CALL 12
#define DELETED " (deleted)"
#define DELETED_LEN 10

static void build(struct xa_asm *a, const long *o, int ledger, int scratch, int ring, int missed, int conf, int self) {
  /* r6 = task (args[0]); the context kept for a tail call */
  emit(a, 0x7b, 10, 1, S_CTX, 0);
  emit(a, 0x79, 6, 1, 0, 0);
  /* No task: a test run by tracer itself (open_argv, after the load), which keeps its own root
   * (fs->root of the current task) in `conf`: the walk below stops there, as readlink on
   * /proc/PID/cwd does for tracer. */
  jump(a, 0x55, 6, 0, 0, L_EXEC);
  emit(a, 0x85, 0, 0, 0, FN_CURRENT_TASK); emit(a, 0xbf, 6, 0, 0, 0);
  read8(a, S_PTR, 6, (int)o[O_FS]);
  jump(a, 0x55, 0, 0, 0, L_OUT);
  load_slot(a, 9, S_PTR);
  jump(a, 0x15, 9, 0, 0, L_OUT);
  read8(a, S_ROOT_DENTRY, 9, (int)(o[O_ROOT] + o[O_PATH_DENTRY]));
  read8(a, S_ROOT_MNT, 9, (int)(o[O_ROOT] + o[O_PATH_MNT]));
  emit(a, 0x7a, 10, 0, S_ZERO, 0);
  ld_map(a, 1, conf); emit(a, 0xbf, 2, 10, 0, 0); emit(a, 0x07, 2, 0, 0, S_ZERO); emit(a, 0x85, 0, 0, 0, FN_LOOKUP);
  jump(a, 0x15, 0, 0, 0, L_OUT);
  load_slot(a, 1, S_ROOT_DENTRY); emit(a, 0x7b, 0, 1, 0, 0);
  load_slot(a, 1, S_ROOT_MNT); emit(a, 0x7b, 0, 1, 8, 0);
  jump(a, 0x05, 0, 0, 0, L_OUT);
  here(a, L_EXEC);
  /* r7 = the record in this CPU's scratch value */
  emit(a, 0x85, 0, 0, 0, FN_CPU); emit(a, 0x63, 10, 0, S_CPU, 0);
  ld_map(a, 1, scratch); emit(a, 0xbf, 2, 10, 0, 0); emit(a, 0x07, 2, 0, 0, S_CPU); emit(a, 0x85, 0, 0, 0, FN_LOOKUP);
  jump(a, 0x15, 0, 0, 0, L_OUT);
  emit(a, 0xbf, 7, 0, 0, 0); emit(a, 0x07, 7, 0, 0, XA_REC_AT);
  /* The same exec's walk, continued by a tail call (L_MORE)? Its state is in the scratch value; the
   * flag is cleared first, whatever follows. */
  emit(a, 0x79, 1, 7, XA_CONT_AT, 0);
  jump(a, 0x15, 1, 0, 0, L_FRESH);
  emit(a, 0x7a, 7, 0, XA_CONT_AT, 0);
  emit(a, 0x79, 1, 7, XA_CONT_AT + 8, 0); emit(a, 0x7b, 10, 1, S_DENTRY, 0);
  emit(a, 0x79, 1, 7, XA_CONT_AT + 16, 0); emit(a, 0x7b, 10, 1, S_MNT, 0);
  emit(a, 0x79, 1, 7, XA_CONT_AT + 24, 0); emit(a, 0x7b, 10, 1, S_ROOT_DENTRY, 0);
  emit(a, 0x79, 1, 7, XA_CONT_AT + 32, 0); emit(a, 0x7b, 10, 1, S_ROOT_MNT, 0);
  emit(a, 0x79, 9, 7, XA_POS_AT, 0);
  emit(a, 0xb7, 8, 0, 0, 0);
  jump(a, 0x05, 0, 0, 0, L_WALK);
  here(a, L_FRESH);
  /* the tgid, then: is it followed, and not closed? */
  emit(a, 0xbf, 1, 10, 0, 0); emit(a, 0x07, 1, 0, 0, S_TGID); emit(a, 0xb7, 2, 0, 0, 4);
  emit(a, 0xbf, 3, 6, 0, 0); emit(a, 0x07, 3, 0, 0, (int)o[O_TGID]); emit(a, 0x85, 0, 0, 0, FN_PROBE_READ_KERNEL);
  ld_map(a, 1, ledger); emit(a, 0xbf, 2, 10, 0, 0); emit(a, 0x07, 2, 0, 0, S_TGID); emit(a, 0x85, 0, 0, 0, FN_LOOKUP);
  jump(a, 0x15, 0, 0, 0, L_OUT);                      /* not followed */
  emit(a, 0x79, 1, 0, 8, 0); jump(a, 0xc5, 1, 0, 0, L_OUT); /* closed (SR_ENDED): another process's pid */
  /* head: tgid, 0, 0, 0, exec time */
  emit(a, 0x61, 1, 10, S_TGID, 0); emit(a, 0x63, 7, 1, 0, 0);
  emit(a, 0x62, 7, 0, 4, 0); emit(a, 0x62, 7, 0, 8, 0); emit(a, 0x62, 7, 0, 12, 0);
  emit(a, 0x85, 0, 0, 0, FN_KTIME_NS); emit(a, 0x7b, 7, 0, 16, 0);

  /* ---- the cwd: names from fs->pwd up, each put in front of the ones before it at the end of the
   * path buffer (from its byte XA_CWD_MAX down): r8 counts the steps, r9 is where the path starts.
   * One loop whose state does not grow with the path: the verifier sees each step once. ---- */
  read8(a, S_PTR, 6, (int)o[O_FS]);
  jump(a, 0x55, 0, 0, 0, L_NOCWD);
  load_slot(a, 9, S_PTR);
  jump(a, 0x15, 9, 0, 0, L_NOCWD);
  read8(a, S_DENTRY, 9, (int)(o[O_PWD] + o[O_PATH_DENTRY]));
  read8(a, S_MNT, 9, (int)(o[O_PWD] + o[O_PATH_MNT]));
  read8(a, S_ROOT_DENTRY, 9, (int)(o[O_ROOT] + o[O_PATH_DENTRY]));
  read8(a, S_ROOT_MNT, 9, (int)(o[O_ROOT] + o[O_PATH_MNT]));
  /* tracer's root when it was captured (else the process's own, as before) */
  emit(a, 0x7a, 10, 0, S_ZERO, 0);
  ld_map(a, 1, conf); emit(a, 0xbf, 2, 10, 0, 0); emit(a, 0x07, 2, 0, 0, S_ZERO); emit(a, 0x85, 0, 0, 0, FN_LOOKUP);
  jump(a, 0x15, 0, 0, 0, L_ROOTSET);
  emit(a, 0x79, 1, 0, 0, 0); emit(a, 0x79, 2, 0, 8, 0);
  jump(a, 0x15, 1, 0, 0, L_ROOTSET);
  jump(a, 0x15, 2, 0, 0, L_ROOTSET);
  emit(a, 0x7b, 10, 1, S_ROOT_DENTRY, 0); emit(a, 0x7b, 10, 2, S_ROOT_MNT, 0);
  here(a, L_ROOTSET);
  emit(a, 0xb7, 9, 0, 0, XA_CWD_MAX);
  /* a directory removed (unhashed, yet not a file system's root: d_unlinked) ends in " (deleted)", as
   * d_path writes it */
  load_slot(a, 3, S_DENTRY); read8(a, S_T1, 3, (int)(o[O_D_HASH] + o[O_PPREV]));
  jump(a, 0x55, 0, 0, 0, L_LINKED);
  load_slot(a, 1, S_T1); jump(a, 0x55, 1, 0, 0, L_LINKED);
  load_slot(a, 3, S_DENTRY); read8(a, S_T1, 3, (int)o[O_D_PARENT]);
  jump(a, 0x55, 0, 0, 0, L_LINKED);
  load_slot(a, 1, S_T1); load_slot(a, 2, S_DENTRY); jump(a, 0x1d, 1, 2, 0, L_LINKED);
  for (int i = 0; i < DELETED_LEN; i++)
    emit(a, 0x72, 7, 0, XA_PATH_AT + XA_CWD_MAX - DELETED_LEN + i, DELETED[i]);
  emit(a, 0xb7, 9, 0, 0, XA_CWD_MAX - DELETED_LEN);
  here(a, L_LINKED);
  emit(a, 0xb7, 8, 0, 0, 0);
  here(a, L_WALK);
  jump(a, 0x35, 8, 0, XA_STEPS, L_MORE); /* this run's steps done: on in the next */
  emit(a, 0x07, 8, 0, 0, 1);
  /* the process's root: done */
  load_slot(a, 1, S_DENTRY); load_slot(a, 2, S_ROOT_DENTRY); jump(a, 0x5d, 1, 2, 0, L_NOTROOT);
  load_slot(a, 1, S_MNT); load_slot(a, 2, S_ROOT_MNT); jump(a, 0x1d, 1, 2, 0, L_WALKED);
  here(a, L_NOTROOT);
  load_slot(a, 3, S_MNT); read8(a, S_T1, 3, (int)o[O_MNT_ROOT]);
  load_slot(a, 1, S_T1); load_slot(a, 2, S_DENTRY); jump(a, 0x5d, 1, 2, 0, L_INMOUNT);
  /* the root of its mount: on to the mountpoint in the parent mount (the namespace's root: done) */
  load_slot(a, 3, S_MNT); read8(a, S_T1, 3, (int)(o[O_MNT_PARENT] - o[O_MOUNT_MNT]));
  load_slot(a, 3, S_MNT); read8(a, S_T2, 3, (int)(o[O_MNT_MOUNTPOINT] - o[O_MOUNT_MNT]));
  load_slot(a, 1, S_T1);
  jump(a, 0x15, 1, 0, 0, L_WALKED);
  load_slot(a, 2, S_MNT); emit(a, 0x07, 2, 0, 0, (int)-o[O_MOUNT_MNT]);
  jump(a, 0x1d, 1, 2, 0, L_WALKED);
  emit(a, 0x07, 1, 0, 0, (int)o[O_MOUNT_MNT]); emit(a, 0x7b, 10, 1, S_MNT, 0);
  load_slot(a, 1, S_T2); emit(a, 0x7b, 10, 1, S_DENTRY, 0);
  jump(a, 0x05, 0, 0, 0, L_WALK);
  here(a, L_INMOUNT);
  load_slot(a, 3, S_DENTRY); read8(a, S_T1, 3, (int)o[O_D_PARENT]);
  load_slot(a, 1, S_T1); load_slot(a, 2, S_DENTRY); jump(a, 0x1d, 1, 2, 0, L_NOCWD); /* no mount's root, no parent */
  load_slot(a, 3, S_DENTRY); read8(a, S_T2, 3, (int)(o[O_D_NAME] + o[O_QSTR_NAME]));
  /* the name into the scratch slot: r0 its bytes and NUL */
  emit(a, 0xbf, 1, 7, 0, 0); emit(a, 0x07, 1, 0, 0, XA_NAME_AT); emit(a, 0xb7, 2, 0, 0, XA_NAME_MAX);
  load_slot(a, 3, S_T2); emit(a, 0x85, 0, 0, 0, FN_PROBE_READ_KERNEL_STR);
  jump(a, 0xd5, 0, 0, 0, L_NOCWD);           /* r0 s<= 0: unreadable */
  jump(a, 0x25, 0, 0, XA_NAME_MAX, L_NOCWD);
  emit(a, 0x07, 0, 0, 0, -1);                /* its bytes */
  emit(a, 0x1f, 9, 0, 0, 0);                 /* the path starts that much earlier */
  jump(a, 0x25, 9, 0, XA_CWD_MAX, L_NOCWD);  /* wrapped below 0: longer than PATH_MAX */
  jump(a, 0x15, 9, 0, 0, L_NOCWD);           /* no room for its '/' */
  emit(a, 0xbf, 2, 0, 0, 0);
  emit(a, 0xbf, 1, 7, 0, 0); emit(a, 0x0f, 1, 9, 0, 0); emit(a, 0x07, 1, 0, 0, XA_PATH_AT);
  emit(a, 0xbf, 3, 7, 0, 0); emit(a, 0x07, 3, 0, 0, XA_NAME_AT);
  emit(a, 0x85, 0, 0, 0, FN_PROBE_READ_KERNEL);
  emit(a, 0x07, 9, 0, 0, -1);
  emit(a, 0xbf, 1, 7, 0, 0); emit(a, 0x0f, 1, 9, 0, 0); emit(a, 0x72, 1, 0, XA_PATH_AT, '/');
  load_slot(a, 1, S_T1); emit(a, 0x7b, 10, 1, S_DENTRY, 0);
  /* Through map memory, r9 comes back as any number: the verifier then meets one state per step at
   * the loop's head, not one per range of path lengths seen (which exceeded its 1M instructions). */
  emit(a, 0x7b, 7, 9, XA_POS_AT, 0); emit(a, 0x79, 9, 7, XA_POS_AT, 0);
  jump(a, 0x05, 0, 0, 0, L_WALK);

  /* ---- XA_STEPS steps and not at a root yet: the walk goes on in a run of this program by a tail
   * call (its state in the scratch value: the stack is not kept); after XA_TAIL_CALLS the kernel
   * refuses the call: too deep, missed (the watcher's thread reads /proc) ---- */
  here(a, L_MORE);
  load_slot(a, 1, S_DENTRY); emit(a, 0x7b, 7, 1, XA_CONT_AT + 8, 0);
  load_slot(a, 1, S_MNT); emit(a, 0x7b, 7, 1, XA_CONT_AT + 16, 0);
  load_slot(a, 1, S_ROOT_DENTRY); emit(a, 0x7b, 7, 1, XA_CONT_AT + 24, 0);
  load_slot(a, 1, S_ROOT_MNT); emit(a, 0x7b, 7, 1, XA_CONT_AT + 32, 0);
  emit(a, 0x7b, 7, 9, XA_POS_AT, 0);
  emit(a, 0x7a, 7, 0, XA_CONT_AT, 1);
  load_slot(a, 1, S_CTX); ld_map(a, 2, self); emit(a, 0xb7, 3, 0, 0, 0);
  emit(a, 0x85, 0, 0, 0, FN_TAIL_CALL);
  emit(a, 0x7a, 7, 0, XA_CONT_AT, 0); /* not called: too deep, the watcher's thread reads it */
  jump(a, 0x05, 0, 0, 0, L_MISSED);

  /* ---- the path, r8 bytes, moved to just after the head ---- */
  here(a, L_WALKED);
  jump(a, 0x25, 9, 0, XA_CWD_MAX - 1, L_JOIN);
  jump(a, 0x05, 0, 0, 0, L_CWDDONE);
  here(a, L_JOIN); /* no name: the root */
  emit(a, 0xb7, 9, 0, 0, XA_CWD_MAX - 1);
  emit(a, 0x72, 7, 0, XA_PATH_AT + XA_CWD_MAX - 1, '/');
  here(a, L_CWDDONE);
  jump(a, 0x25, 9, 0, XA_CWD_MAX, L_NOCWD);
  emit(a, 0xb7, 8, 0, 0, XA_CWD_MAX); emit(a, 0x1f, 8, 9, 0, 0);
  jump(a, 0x25, 8, 0, XA_CWD_MAX, L_NOCWD);
  emit(a, 0xbf, 2, 8, 0, 0);
  emit(a, 0xbf, 1, 7, 0, 0); emit(a, 0x07, 1, 0, 0, XA_HEAD);
  emit(a, 0xbf, 3, 7, 0, 0); emit(a, 0x0f, 3, 9, 0, 0); emit(a, 0x07, 3, 0, 0, XA_PATH_AT);
  emit(a, 0x85, 0, 0, 0, FN_PROBE_READ_KERNEL);
  jump(a, 0x55, 0, 0, 0, L_NOCWD);
  emit(a, 0x6b, 7, 8, 12, 0);
  jump(a, 0x05, 0, 0, 0, L_ARGV);
  here(a, L_NOCWD);
  emit(a, 0xb7, 8, 0, 0, 0);
  emit(a, 0x6a, 7, 0, 12, 0);

  /* ---- argv: mm->arg_start..arg_end, after the cwd ---- */
  here(a, L_ARGV);
  emit(a, 0x7a, 10, 0, S_KEPT, 0);
  read8(a, S_PTR, 6, (int)o[O_MM]);
  jump(a, 0x55, 0, 0, 0, L_SEND);
  load_slot(a, 9, S_PTR);
  jump(a, 0x15, 9, 0, 0, L_SEND);
  read8(a, S_ARG_START, 9, (int)o[O_ARG_START]);
  read8(a, S_ARG_END, 9, (int)o[O_ARG_END]);
  load_slot(a, 2, S_ARG_END); load_slot(a, 1, S_ARG_START); emit(a, 0x1f, 2, 1, 0, 0);
  jump(a, 0xc5, 2, 0, 0, L_SEND);            /* end before start: nothing */
  emit(a, 0x63, 7, 2, 4, 0);                 /* bytes in full */
  jump(a, 0xb5, 2, 0, XA_ARGV_CAP, L_FITS);
  emit(a, 0xb7, 2, 0, 0, XA_ARGV_CAP);
  here(a, L_FITS);
  emit(a, 0x7b, 10, 2, S_CLAMP, 0);
  emit(a, 0xbf, 1, 7, 0, 0); emit(a, 0x0f, 1, 8, 0, 0); emit(a, 0x07, 1, 0, 0, XA_HEAD);
  load_slot(a, 3, S_ARG_START); emit(a, 0x85, 0, 0, 0, FN_PROBE_READ_USER);
  jump(a, 0x55, 0, 0, 0, L_SEND);            /* unreadable: no argv */
  load_slot(a, 2, S_CLAMP); emit(a, 0x7b, 10, 2, S_KEPT, 0); emit(a, 0x63, 7, 2, 8, 0);

  /* ---- out: head, cwd and argv ---- */
  here(a, L_SEND);
  load_slot(a, 3, S_KEPT);
  jump(a, 0x15, 3, 0, 0, L_MISSED);          /* no argv read */
  jump(a, 0x25, 3, 0, XA_ARGV_CAP, L_MISSED);
  jump(a, 0x25, 8, 0, XA_CWD_MAX, L_MISSED);
  emit(a, 0x0f, 3, 8, 0, 0); emit(a, 0x07, 3, 0, 0, XA_HEAD);
  /* BPF_RB_NO_WAKEUP: nobody waits on the ring; a take comes with each exec event drained */
  ld_map(a, 1, ring); emit(a, 0xbf, 2, 7, 0, 0); emit(a, 0xb7, 4, 0, 0, 1);
  emit(a, 0x85, 0, 0, 0, FN_RINGBUF_OUTPUT);
  jump(a, 0x15, 0, 0, 0, L_SENT);
  /* not in the ring (full, or nothing read): the process is marked, and the exec watcher's socket
   * filter (xa_filter_execs) lets this exec's event wake the thread, which reads /proc as before */
  here(a, L_MISSED);
  /* the tgid from the record's head (a run continued by a tail call has a fresh stack) */
  emit(a, 0x61, 1, 7, 0, 0); emit(a, 0x63, 10, 1, S_TGID, 0);
  emit(a, 0x62, 10, 0, S_ONE, 1);
  ld_map(a, 1, missed); emit(a, 0xbf, 2, 10, 0, 0); emit(a, 0x07, 2, 0, 0, S_TGID);
  emit(a, 0xbf, 3, 10, 0, 0); emit(a, 0x07, 3, 0, 0, S_ONE); emit(a, 0xb7, 4, 0, 0, 0);
  emit(a, 0x85, 0, 0, 0, FN_UPDATE);
  jump(a, 0x05, 0, 0, 0, L_OUT);
  /* in the ring: a mark of an earlier exec goes */
  here(a, L_SENT);
  emit(a, 0x61, 1, 7, 0, 0); emit(a, 0x63, 10, 1, S_TGID, 0);
  ld_map(a, 1, missed); emit(a, 0xbf, 2, 10, 0, 0); emit(a, 0x07, 2, 0, 0, S_TGID);
  emit(a, 0x85, 0, 0, 0, FN_LOOKUP);
  jump(a, 0x15, 0, 0, 0, L_OUT);
  ld_map(a, 1, missed); emit(a, 0xbf, 2, 10, 0, 0); emit(a, 0x07, 2, 0, 0, S_TGID);
  emit(a, 0x85, 0, 0, 0, FN_DELETE);
  here(a, L_OUT);
  emit(a, 0xb7, 0, 0, 0, 0);
  emit(a, 0x95, 0, 0, 0, 0);
}

/* ------------------------------------------------------------------------------------------------ */

static long bpf(int cmd, void *attr, u32 size) {
  long r = syscall(SYS_BPF, cmd, attr, size);
  return r < 0 ? -*__errno_location() : r;
}

static void zero(void *p, size_t n) {
  for (size_t i = 0; i < n; i++) ((u8 *)p)[i] = 0;
}

static long map_create(u32 type, u32 key, u32 value, u32 entries) {
  u32 attr[12];
  zero(attr, sizeof attr);
  attr[0] = type;
  attr[1] = key;
  attr[2] = value;
  attr[3] = entries;
  return bpf(BPF_MAP_CREATE, attr, sizeof attr);
}

/* CPUs the kernel may number (/sys/devices/system/cpu/possible: "0-N" or a list): the highest + 1 */
static int possible_cpus(void) {
  char buf[256];
  int fd = open("/sys/devices/system/cpu/possible", O_RDONLY | O_CLOEXEC), n, hi = -1, v = -1;
  if (fd < 0) return -1;
  n = (int)read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return -1;
  for (int i = 0; i <= n; i++) {
    char c = i < n ? buf[i] : 0;
    if (c >= '0' && c <= '9') v = (v < 0 ? 0 : v * 10) + (c - '0');
    else {
      if (v > hi) hi = v;
      v = -1;
    }
  }
  return hi < 0 ? -1 : hi + 1;
}

static int xa_scratch = -1, xa_ringfd = -1, xa_missed = -1, xa_link = -1, xa_conf = -1, xa_self = -1;
static u8 *xa_cons_page, *xa_prod_page; /* the ring's consumer page (rw), producer page and data (ro) */
static long xa_page;
#define XA_PENDING 1
#define XA_IDLE 2
static volatile int xa_state = XA_IDLE, xa_closing;
static u64 xa_mutex[8];

static void release(void) {
  if (xa_link >= 0) close(xa_link), xa_link = -1;
  if (xa_cons_page) munmap(xa_cons_page, (size_t)xa_page), xa_cons_page = 0;
  if (xa_prod_page) munmap(xa_prod_page, (size_t)(xa_page + 2L * XA_RING)), xa_prod_page = 0;
  if (xa_ringfd >= 0) close(xa_ringfd), xa_ringfd = -1;
  if (xa_scratch >= 0) close(xa_scratch), xa_scratch = -1;
  if (xa_missed >= 0) close(xa_missed), xa_missed = -1;
  if (xa_conf >= 0) close(xa_conf), xa_conf = -1;
  if (xa_self >= 0) close(xa_self), xa_self = -1; /* clears it: the program no longer holds itself */
}

static int open_argv(int ledger) {
  if (SYS_BPF < 0) return -ENOSYS;
  struct xa_member want[O_COUNT] = {
      {"task_struct", "tgid", -1},     {"task_struct", "mm", -1},       {"task_struct", "fs", -1},
      {"mm_struct", "arg_start", -1},  {"mm_struct", "arg_end", -1},    {"fs_struct", "pwd", -1},
      {"fs_struct", "root", -1},       {"path", "mnt", -1},             {"path", "dentry", -1},
      {"dentry", "d_parent", -1},      {"dentry", "d_name", -1},        {"qstr", "name", -1},
      {"vfsmount", "mnt_root", -1},    {"mount", "mnt", -1},            {"mount", "mnt_parent", -1},
      {"mount", "mnt_mountpoint", -1}, {"dentry", "d_hash", -1},       {"hlist_bl_node", "pprev", -1},
  };
  int r = btf_offsets(want, O_COUNT);
  if (r < 0) return r;
  long o[O_COUNT];
  for (int i = 0; i < O_COUNT; i++) o[i] = want[i].offset;
  int cpus = possible_cpus();
  if (cpus <= 0) return -EINVAL;
  long m = map_create(BPF_MAP_TYPE_ARRAY, 4, XA_VALUE, (u32)cpus);
  if (m < 0) return (int)m;
  xa_scratch = (int)m;
  m = map_create(BPF_MAP_TYPE_LRU_HASH, 4, 4, XA_MISSED);
  if (m < 0) return release(), (int)m;
  xa_missed = (int)m;
  /* tracer's root (dentry, vfsmount): one entry */
  m = map_create(BPF_MAP_TYPE_ARRAY, 4, 16, 1);
  if (m < 0) return release(), (int)m;
  xa_conf = (int)m;
  /* the program itself, for the tail calls that continue a deep walk */
  m = map_create(3 /* BPF_MAP_TYPE_PROG_ARRAY */, 4, 4, 1);
  if (m < 0) return release(), (int)m;
  xa_self = (int)m;
  m = map_create(BPF_MAP_TYPE_RINGBUF, 0, 0, XA_RING);
  if (m < 0) return release(), (int)m;
  xa_ringfd = (int)m;
  xa_page = getpagesize();
  void *cons = mmap(0, (size_t)xa_page, PROT_READ | PROT_WRITE, MAP_SHARED, xa_ringfd, 0);
  void *prod = mmap(0, (size_t)(xa_page + 2L * XA_RING), PROT_READ, MAP_SHARED, xa_ringfd, xa_page);
  if (cons == (void *)-1L || prod == (void *)-1L) {
    if (cons != (void *)-1L) munmap(cons, (size_t)xa_page);
    if (prod != (void *)-1L) munmap(prod, (size_t)(xa_page + 2L * XA_RING));
    release();
    return -ENOMEM;
  }
  xa_cons_page = (u8 *)cons;
  xa_prod_page = (u8 *)prod;
  static struct xa_asm a;
  zero(&a, sizeof a);
  build(&a, o, ledger, xa_scratch, xa_ringfd, xa_missed, xa_conf, xa_self);
  if (resolve(&a) < 0) return release(), -EINVAL;
  u64 attr[16];
  zero(attr, sizeof attr);
  ((u32 *)attr)[0] = BPF_PROG_TYPE_RAW_TRACEPOINT;
  ((u32 *)attr)[1] = (u32)a.n;
  attr[1] = (u64)(unsigned long)a.p;
  attr[2] = (u64)(unsigned long)"GPL";
#ifdef XA_DEBUG_LOG
  static char vlog[1 << 20];
  ((u32 *)attr)[6] = 1;
  ((u32 *)attr)[7] = sizeof vlog;
  attr[4] = (u64)(unsigned long)vlog;
#endif
  long prog = bpf(BPF_PROG_LOAD, attr, sizeof attr);
#ifdef XA_DEBUG_LOG
  XA_DEBUG_LOG(vlog, prog);
#endif
  if (prog < 0) return release(), (int)prog;
  /* Run it once here, without a task: it keeps this process's root (see build). Where the kernel cannot
   * (test runs of raw tracepoint programs: Linux 5.10+), each path runs to the process's own root. */
  u64 ctx[1] = {0};
  u64 run_attr[10];
  zero(run_attr, sizeof run_attr);
  ((u32 *)run_attr)[0] = (u32)prog;
  ((u32 *)run_attr)[10] = sizeof ctx; /* ctx_size_in */
  run_attr[6] = (u64)(unsigned long)ctx; /* ctx_in */
  bpf(BPF_PROG_TEST_RUN, run_attr, sizeof run_attr);
  /* itself at index 0 of its program array (without: a walk deeper than XA_STEPS steps is missed) */
  u32 key = 0, value = (u32)prog;
  u64 up[4] = {(u64)(u32)xa_self, (u64)(unsigned long)&key, (u64)(unsigned long)&value, 0};
  bpf(2 /* BPF_MAP_UPDATE_ELEM */, up, sizeof up);
  u64 link_attr[4];
  zero(link_attr, sizeof link_attr);
  link_attr[0] = (u64)(unsigned long)"sched_process_exec";
  ((u32 *)link_attr)[2] = (u32)prog;
  long link = bpf(BPF_RAW_TRACEPOINT_OPEN, link_attr, sizeof link_attr);
  close((int)prog);
  if (link < 0) return release(), (int)link;
  xa_link = (int)link;
  return 0;
}

static void *opener(void *arg) {
  int status = open_argv((int)(long)arg);
  pthread_mutex_lock(xa_mutex);
  if (xa_closing) release(), status = XA_IDLE;
  xa_state = status;
  pthread_mutex_unlock(xa_mutex);
  return 0;
}

/*
 * Attach the program on a thread of its own and return at once (attaching waits for an RCU grace
 * period: milliseconds). `ledger`: the scheduler-runtime ledger's map fd (ffi/schedrt.c sr_map_fd);
 * the program holds the map from then on. xa_status_now() says when it is done. 0, or -errno.
 */
int xa_open_async(int ledger) {
  if (SYS_BPF < 0) return -ENOSYS;
  if (ledger < 0) return -EINVAL;
  pthread_mutex_lock(xa_mutex);
  int busy = xa_state != XA_IDLE;
  xa_closing = 0;
  if (!busy) xa_state = XA_PENDING;
  pthread_mutex_unlock(xa_mutex);
  if (busy) return 0;
  pthread_t t;
  int r = pthread_create(&t, 0, opener, (void *)(long)ledger);
  if (r != 0) {
    xa_state = XA_IDLE;
    return -r;
  }
  pthread_detach(t);
  return 0;
}

/* 1 attached, 0 still attaching, -errno failed (or closed: -ENOENT) */
int xa_status_now(void) {
  pthread_mutex_lock(xa_mutex);
  int s = xa_state;
  pthread_mutex_unlock(xa_mutex);
  return s == XA_PENDING ? 0 : s == 0 ? 1 : s == XA_IDLE ? -ENOENT : s;
}

/* Detach and free (an attach still under way does so itself when done). Records not taken are lost. */
void xa_close(void) {
  pthread_mutex_lock(xa_mutex);
  if (xa_state == XA_PENDING) xa_closing = 1;
  else release(), xa_state = XA_IDLE;
  pthread_mutex_unlock(xa_mutex);
}

/* Acquire loads and a release store for the ring's positions and record headers. TinyCC has no
 * __atomic builtins: there plain volatile accesses, which x86-64's ordering (TSO) makes acquire and
 * release (the prebuilt object, built by cc, covers arm64). */
#if defined(__TINYC__)
#define LOAD_ACQ(p) (*(p))
#define STORE_REL(p, v) (*(p) = (v))
#else
#define LOAD_ACQ(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define STORE_REL(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)
#endif

#define RB_BUSY (1u << 31)
#define RB_DISCARD (1u << 30)
#define RB_HDR 8

/*
 * Move the records in the ring into out[0..cap) in the exec watcher's layout (execwatch.c: u32 tgid,
 * u32 argv kept, u32 argv in full, u16 cwd, u16 read lag 0 (read in the exec), f64 CLOCK_MONOTONIC ms,
 * 16 zero bytes (parent and start unknown), argv, cwd; each 8-aligned),
 * oldest first, as many as fit whole; a record without argv (unreadable) is dropped. The caller's
 * thread only (one consumer). Returns the bytes written; 0 when empty or not attached.
 */
int xa_take(u8 *out, int cap) {
  if (xa_state != 0 || !xa_cons_page) return 0;
  volatile u64 *cons_pos = (volatile u64 *)xa_cons_page;
  volatile u64 *prod_pos = (volatile u64 *)xa_prod_page;
  const u8 *data = xa_prod_page + xa_page;
  u64 cons = *cons_pos;
  u64 prod = LOAD_ACQ(prod_pos);
  int n = 0;
  while (cons < prod) {
    const u8 *rec = data + (cons & (XA_RING - 1));
    u32 len = LOAD_ACQ((const volatile u32 *)rec);
    if (len & RB_BUSY) break; /* still being written */
    u32 size = len & ~(RB_BUSY | RB_DISCARD);
    if (!(len & RB_DISCARD) && size >= XA_HEAD) {
      const u8 *r = rec + RB_HDR; /* the data area is mapped twice: a record never wraps here */
      u32 tgid, full, kept;
      u16 cwd;
      u64 ns;
      memcpy(&tgid, r, 4);
      memcpy(&full, r + 4, 4);
      memcpy(&kept, r + 8, 4);
      memcpy(&cwd, r + 12, 2);
      memcpy(&ns, r + 16, 8);
      if (kept > XA_ARGV_CAP || XA_HEAD + (u32)cwd + kept > size) kept = 0, cwd = 0;
      if (kept > 0) {
        int need = (int)((XA_OUT_HEAD + kept + cwd + 7) & ~7u);
        if (n + need > cap) break; /* the rest next time */
        u8 *w = out + n;
        u32 lens[3] = {kept, full, (u32)cwd};
        double ms = (double)ns / 1e6;
        memcpy(w, &tgid, 4);
        memcpy(w + 4, lens, 12);
        memcpy(w + 16, &ms, 8);
        zero(w + 24, XA_OUT_HEAD - 24); /* parent and start unknown here (the recorder follows the fork) */
        memcpy(w + XA_OUT_HEAD, r + XA_HEAD + cwd, kept);
        memcpy(w + XA_OUT_HEAD + kept, r + XA_HEAD, cwd);
        n += need;
      }
    }
    cons += (RB_HDR + size + 7) & ~7u;
    STORE_REL(cons_pos, cons);
  }
  return n;
}

/*
 * Once the program is attached: put on proc-connector socket `sock` (the exec watcher's exec socket)
 * an eBPF socket filter that keeps only the exec events of processes whose exec the program could not
 * put in the ring (marked in its `missed` map: a full ring, an argv it could not read). Every other
 * exec no longer wakes the thread; those still do, and the thread reads /proc for them at once, as
 * before. Replaces the socket's filter. 0, or -errno (-ENOENT: not attached).
 */
int xa_filter_execs(int sock) {
  pthread_mutex_lock(xa_mutex);
  int map = xa_state == 0 ? xa_missed : -1;
  pthread_mutex_unlock(xa_mutex);
  if (map < 0) return -ENOENT;
  /* r6 = skb; [r10-24, r10) = bytes 36..59: what, cpu, timestamp, process_pid (52), process_tgid (56) */
  static struct xa_asm f;
  zero(&f, sizeof f);
  enum { F_KEEP, F_DROP };
  emit(&f, 0xbf, 6, 1, 0, 0);
  emit(&f, 0xbf, 1, 6, 0, 0); emit(&f, 0xb7, 2, 0, 0, 36); emit(&f, 0xbf, 3, 10, 0, 0); emit(&f, 0x07, 3, 0, 0, -24);
  emit(&f, 0xb7, 4, 0, 0, 24); emit(&f, 0x85, 0, 0, 0, FN_SKB_LOAD_BYTES);
  jump(&f, 0x55, 0, 0, 0, F_KEEP);             /* shorter than an exec event: kept */
  emit(&f, 0x61, 1, 10, -24, 0);
  jump(&f, 0x55, 1, 0, 2 /* PROC_EVENT_EXEC */, F_DROP);
  emit(&f, 0x61, 1, 10, -8, 0); emit(&f, 0x61, 2, 10, -4, 0);
  jump(&f, 0x5d, 1, 2, 0, F_DROP);             /* a thread's */
  ld_map(&f, 1, map); emit(&f, 0xbf, 2, 10, 0, 0); emit(&f, 0x07, 2, 0, 0, -4); emit(&f, 0x85, 0, 0, 0, FN_LOOKUP);
  jump(&f, 0x15, 0, 0, 0, F_DROP);             /* in the ring */
  here(&f, F_KEEP);
  emit(&f, 0xb7, 0, 0, 0, -1); emit(&f, 0x95, 0, 0, 0, 0);
  here(&f, F_DROP);
  emit(&f, 0xb7, 0, 0, 0, 0); emit(&f, 0x95, 0, 0, 0, 0);
  if (resolve(&f) < 0) return -EINVAL;
  u64 attr[16];
  zero(attr, sizeof attr);
  ((u32 *)attr)[0] = BPF_PROG_TYPE_SOCKET_FILTER;
  ((u32 *)attr)[1] = (u32)f.n;
  attr[1] = (u64)(unsigned long)f.p;
  attr[2] = (u64)(unsigned long)"GPL";
  long p = bpf(BPF_PROG_LOAD, attr, sizeof attr);
  if (p < 0) return (int)p;
  int fd = (int)p;
  int r = setsockopt(sock, 1 /* SOL_SOCKET */, 50 /* SO_ATTACH_BPF */, &fd, sizeof fd);
  r = r < 0 ? -*__errno_location() : 0;
  close(fd); /* the socket holds the program, and through it the map */
  return r;
}
