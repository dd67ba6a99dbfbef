// SPDX-License-Identifier: MIT
/*
 * The cell's RT-FIFOs as files for Linux: a FUSE file system (libfuse3,
 * low-level API) mounted at <runtime dir>/cell<CPU>/fifo while a cell is
 * held. Each FIFO is a regular file, owned by the user who started the
 * cell, mode 0600 (checked by the kernel: default_permissions), whose size
 * is its fill level; read, write and poll behave as on a pipe (see
 * linuxabi/rtfifo.c), with direct I/O and no seeking. Creating a file
 * creates a FIFO, removing one removes it.
 *
 * Blocking: a read or write that must wait holds one of the loop's worker
 * threads on a condition variable, woken by the kernel's FIFO doorbell (an
 * ioeventfd the event thread watches), by any Linux-side change, and every
 * WAKE_MS in any case; a request the caller gave up on (a signal, a killed
 * process) is answered EINTR there. Nothing here ever makes the realm wait.
 */
#define FUSE_USE_VERSION 312
#include <errno.h>
#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <crtos/rtfifo.h>
#include "fifofs.h"

#define WAKE_MS		20
#define MAX_POLLERS	256
#define INO_ROOT	1
#define INO_FIFO0	2		/* FIFO i is inode INO_FIFO0 + i */

struct ff_file {
	struct cell_fifo_handle h;
	bool nonblock;
	struct ff_file *prev, *next;	/* fs.files */
};

struct ff_poller {
	struct fuse_pollhandle *ph;
	unsigned int index;
};

struct fifofs {
	struct cell *c;
	struct fuse_session *se;
	char mnt[256];
	pthread_t loop_thread, event_thread;
	bool rt;			/* the threads run at SCHED_FIFO FIFOFS_PRIO */
	bool loop_started, event_started;
	pthread_mutex_t lock;		/* the fields below, and every wait */
	pthread_cond_t cond;		/* something changed */
	bool stop;
	struct ff_poller pollers[MAX_POLLERS];
	int nr_pollers;
	struct ff_file *files;		/* open, not yet released */
};

static struct fifofs fs;

static void ff_deadline(struct timespec *ts, long ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_nsec += ms * 1000000;
	ts->tv_sec += ts->tv_nsec / 1000000000;
	ts->tv_nsec %= 1000000000;
}

/* Wake every waiter and poller: something changed. Under fs.lock. */
static void ff_changed_locked(void)
{
	pthread_cond_broadcast(&fs.cond);
	for (int i = 0; i < fs.nr_pollers; i++) {
		fuse_lowlevel_notify_poll(fs.pollers[i].ph);
		fuse_pollhandle_destroy(fs.pollers[i].ph);
		cell_fifo_waiting(fs.c, fs.pollers[i].index, -1);
	}
	fs.nr_pollers = 0;
}

static void ff_changed(void)
{
	pthread_mutex_lock(&fs.lock);
	ff_changed_locked();
	pthread_mutex_unlock(&fs.lock);
}

/*
 * The server's threads run at SCHED_FIFO FIFOFS_PRIO (held cells, unless
 * --no-rt): above Linux's ordinary (SCHED_OTHER) load, below every
 * real-time thread of Linux's. A Linux process's write to a FIFO, and the
 * answer it waits for, each cross a worker here: at SCHED_OTHER, stress-ng
 * on Linux's CPUs put milliseconds into the round trip's tail
 * (docs/benchmarks.md). libfuse's workers inherit the loop thread's policy
 * (PTHREAD_INHERIT_SCHED). Where Linux refuses (no privilege) they stay at
 * SCHED_OTHER, which only costs latency.
 */
#define FIFOFS_PRIO	1

static void ff_adopt_priority(void)
{
	struct sched_param sp = { .sched_priority = FIFOFS_PRIO };

	if (fs.rt)
		pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp);
}

/* The kernel's doorbell, or WAKE_MS: waiters and pollers look again. */
static void *ff_event_main(void *arg)
{
	struct pollfd pfd = { .fd = cell_fifo_event_fd(fs.c), .events = POLLIN };
	eventfd_t v;

	(void)arg;
	ff_adopt_priority();
	while (!__atomic_load_n(&fs.stop, __ATOMIC_ACQUIRE)) {
		if (poll(&pfd, 1, WAKE_MS) > 0)
			eventfd_read(pfd.fd, &v);
		ff_changed();
	}
	return NULL;
}

static void ff_stat_dir(struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = INO_ROOT;
	st->st_mode = S_IFDIR | 0700;
	st->st_nlink = 2;
	st->st_uid = getuid();
	st->st_gid = getgid();
}

/* The attributes of FIFO inode ino: 0 or -ENOENT. */
static int ff_stat_fifo(fuse_ino_t ino, struct stat *st, struct cell_fifo_info *info)
{
	if (ino < INO_FIFO0 || ino >= INO_FIFO0 + CRTOS_FIFO_MAX ||
	    cell_fifo_info(fs.c, (unsigned int)(ino - INO_FIFO0), info))
		return -ENOENT;
	memset(st, 0, sizeof(*st));
	st->st_ino = ino;
	st->st_mode = S_IFREG | 0600;
	st->st_nlink = 1;
	st->st_uid = getuid();
	st->st_gid = getgid();
	st->st_size = (off_t)info->fill;
	st->st_blksize = 4096;
	return 0;
}

static void ff_reply_entry(fuse_req_t req, const char *name, struct fuse_file_info *fi)
{
	struct fuse_entry_param e = { 0 };
	struct cell_fifo_info info;

	if (cell_fifo_lookup(fs.c, name, &info) ||
	    ff_stat_fifo(INO_FIFO0 + info.index, &e.attr, &info)) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	e.ino = INO_FIFO0 + info.index;
	e.generation = info.gen;
	if (fi)
		fuse_reply_create(req, &e, fi);
	else
		fuse_reply_entry(req, &e);
}

static void ff_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	if (parent != INO_ROOT) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	ff_reply_entry(req, name, NULL);
}

static void ff_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct cell_fifo_info info;
	struct stat st;

	(void)fi;
	if (ino == INO_ROOT)
		ff_stat_dir(&st);
	else if (ff_stat_fifo(ino, &st, &info)) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	fuse_reply_attr(req, &st, 0);
}

/* Truncation (O_TRUNC, "echo > FIFO") changes nothing: a FIFO has no length to cut. */
static void ff_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
		       struct fuse_file_info *fi)
{
	(void)attr;
	if (to_set & ~(FUSE_SET_ATTR_SIZE | FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME |
		       FUSE_SET_ATTR_ATIME_NOW | FUSE_SET_ATTR_MTIME_NOW | FUSE_SET_ATTR_CTIME)) {
		fuse_reply_err(req, EPERM);
		return;
	}
	ff_getattr(req, ino, fi);
}

static void ff_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	char *buf = calloc(1, size);
	size_t used = 0;
	struct stat st = { 0 };

	(void)fi;
	if (ino != INO_ROOT || !buf) {
		free(buf);
		fuse_reply_err(req, ino != INO_ROOT ? ENOTDIR : ENOMEM);
		return;
	}
	/* Offsets: 1 ".", 2 "..", 3 + i the FIFO in directory entry i. */
	for (off_t o = off + 1; o < 3 + CRTOS_FIFO_MAX; o++) {
		struct cell_fifo_info info;
		const char *name;
		size_t n;

		if (o == 1 || o == 2) {
			name = o == 1 ? "." : "..";
			st.st_ino = INO_ROOT;
			st.st_mode = S_IFDIR;
		} else if (!cell_fifo_info(fs.c, (unsigned int)(o - 3), &info)) {
			name = info.name;
			st.st_ino = INO_FIFO0 + info.index;
			st.st_mode = S_IFREG;
		} else {
			continue;
		}
		n = fuse_add_direntry(req, buf + used, size - used, name, &st, o);
		if (n > size - used)
			break;
		used += n;
	}
	fuse_reply_buf(req, buf, used);
	free(buf);
}

/* The opener only sees EBUSY: say why on the cell's terminal (or log). */
static void ff_explain_busy(unsigned int index, int acc)
{
	struct cell_fifo_info info;

	if (cell_fifo_info(fs.c, index, &info))
		return;
	fprintf(stderr, "crtos: FIFO %s: a Linux open for %s was refused (EBUSY): the realm %s it, and "
		"bytes flow one way between the realms; open it from the realm too, or close the "
		"realm's end first\n", info.name, acc == O_RDONLY ? "reading" : acc == O_WRONLY ?
		"writing" : "reading and writing",
		info.reader_side == CRTOS_FIFO_SIDE_RT && acc != O_WRONLY ? "reads" : "writes");
}

static int ff_open_index(unsigned int index, struct fuse_file_info *fi)
{
	int acc = fi->flags & O_ACCMODE;
	struct ff_file *f = calloc(1, sizeof(*f));
	int ret;

	if (!f)
		return -ENOMEM;
	ret = cell_fifo_open(fs.c, index, acc != O_WRONLY, acc != O_RDONLY, &f->h);
	if (ret == -EBUSY)
		ff_explain_busy(index, acc);
	if (ret) {
		free(f);
		return ret;
	}
	f->nonblock = fi->flags & O_NONBLOCK;
	fi->fh = (uint64_t)(uintptr_t)f;
	fi->direct_io = 1;
	fi->nonseekable = 1;
	pthread_mutex_lock(&fs.lock);
	f->next = fs.files;
	if (f->next)
		f->next->prev = f;
	fs.files = f;
	ff_changed_locked();
	pthread_mutex_unlock(&fs.lock);
	return 0;
}

/* Release f: its Linux roles go back. Under fs.lock. */
static void ff_file_close_locked(struct ff_file *f)
{
	if (f->prev)
		f->prev->next = f->next;
	else
		fs.files = f->next;
	if (f->next)
		f->next->prev = f->prev;
	cell_fifo_close(fs.c, &f->h);
	free(f);
	ff_changed_locked();
}

/* The mount is gone (unmounted, perhaps lazily with files open): nothing holds a role any more. */
static void ff_close_all(void)
{
	pthread_mutex_lock(&fs.lock);
	while (fs.files)
		ff_file_close_locked(fs.files);
	pthread_mutex_unlock(&fs.lock);
}

static void ff_release_fh(uint64_t fh)
{
	pthread_mutex_lock(&fs.lock);
	ff_file_close_locked((struct ff_file *)(uintptr_t)fh);
	pthread_mutex_unlock(&fs.lock);
}

static void ff_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	int ret = ino < INO_FIFO0 ? -EISDIR : ff_open_index((unsigned int)(ino - INO_FIFO0), fi);

	if (ret)
		fuse_reply_err(req, -ret);
	else if (fuse_reply_open(req, fi) == -ENOENT)
		ff_release_fh(fi->fh);	/* the opener is gone meanwhile */
}

static void ff_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
		      struct fuse_file_info *fi)
{
	struct cell_fifo_info info;
	struct vmm_err err;
	int ret;

	(void)mode;
	if (parent != INO_ROOT) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	ret = cell_fifo_create(fs.c, name, 0, &err);
	if (ret && ret != -EEXIST) {
		fuse_reply_err(req, -ret);
		return;
	}
	ret = cell_fifo_lookup(fs.c, name, &info) ?: ff_open_index(info.index, fi);
	if (ret) {
		fuse_reply_err(req, -ret);
		return;
	}
	ff_reply_entry(req, name, fi);
}

static void ff_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct vmm_err err;

	fuse_reply_err(req, parent != INO_ROOT ? ENOENT : -cell_fifo_remove(fs.c, name, &err));
}

/* Wait for a change (or WAKE_MS). Under fs.lock. -EINTR if the caller gave up, -EIO at unmount. */
static int ff_wait(fuse_req_t req)
{
	struct timespec ts;

	if (fs.stop)
		return -EIO;
	if (fuse_req_interrupted(req))
		return -EINTR;
	ff_deadline(&ts, WAKE_MS);
	pthread_cond_timedwait(&fs.cond, &fs.lock, &ts);
	return 0;
}

static void ff_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi)
{
	struct ff_file *f = (struct ff_file *)(uintptr_t)fi->fh;
	char *buf = malloc(size ? size : 1);
	long n = -ENOMEM;

	(void)ino;
	(void)off;
	if (buf) {
		pthread_mutex_lock(&fs.lock);
		cell_fifo_waiting(fs.c, f->h.index, 1);
		while ((n = cell_fifo_read(fs.c, &f->h, buf, size)) == -EAGAIN && !f->nonblock) {
			int err = ff_wait(req);

			if (err) {
				n = err;
				break;
			}
		}
		cell_fifo_waiting(fs.c, f->h.index, -1);
		if (n > 0)
			ff_changed_locked();
		pthread_mutex_unlock(&fs.lock);
	}
	if (n >= 0)
		fuse_reply_buf(req, buf, (size_t)n);
	else
		fuse_reply_err(req, n == -ENOENT ? EIO : (int)-n);
	free(buf);
}

static void ff_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
		     struct fuse_file_info *fi)
{
	struct ff_file *f = (struct ff_file *)(uintptr_t)fi->fh;
	size_t done = 0;
	long n = 0;

	(void)ino;
	(void)off;
	pthread_mutex_lock(&fs.lock);
	cell_fifo_waiting(fs.c, f->h.index, 1);
	while (done < size) {
		n = cell_fifo_write(fs.c, &f->h, buf + done, size - done);
		if (n > 0) {
			done += (size_t)n;
			ff_changed_locked();
			continue;
		}
		if (n != -EAGAIN || f->nonblock || (n = ff_wait(req)))
			break;
	}
	cell_fifo_waiting(fs.c, f->h.index, -1);
	pthread_mutex_unlock(&fs.lock);
	if (done || n >= 0)
		fuse_reply_write(req, done);
	else
		fuse_reply_err(req, n == -ENOENT ? EIO : (int)-n);
}

static void ff_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	ff_release_fh(fi->fh);
	fuse_reply_err(req, 0);
}

static void ff_poll(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi,
		    struct fuse_pollhandle *ph)
{
	struct ff_file *f = (struct ff_file *)(uintptr_t)fi->fh;
	unsigned int mask;

	(void)ino;
	pthread_mutex_lock(&fs.lock);
	if (ph) {
		if (fs.nr_pollers == MAX_POLLERS)
			ff_changed_locked();
		fs.pollers[fs.nr_pollers++] = (struct ff_poller){ .ph = ph, .index = f->h.index };
		cell_fifo_waiting(fs.c, f->h.index, 1);
	}
	mask = cell_fifo_poll(fs.c, &f->h);
	pthread_mutex_unlock(&fs.lock);
	fuse_reply_poll(req, mask);
}

static const struct fuse_lowlevel_ops ff_ops = {
	.lookup = ff_lookup,
	.getattr = ff_getattr,
	.setattr = ff_setattr,
	.readdir = ff_readdir,
	.open = ff_open,
	.create = ff_create,
	.unlink = ff_unlink,
	.read = ff_read,
	.write = ff_write,
	.release = ff_release,
	.poll = ff_poll,
};

static void *ff_loop_main(void *arg)
{
	struct fuse_loop_config *cfg = fuse_loop_cfg_create();

	(void)arg;
	ff_adopt_priority();
	if (cfg) {
		fuse_loop_cfg_set_max_threads(cfg, 32);
		fuse_session_loop_mt(fs.se, cfg);
		fuse_loop_cfg_destroy(cfg);
	}
	ff_close_all();
	return NULL;
}

/* mkdir -p of the mount point, 0700, and away with a stale mount of a dead cell. */
static int ff_prepare_dir(int cpu, char *why, size_t whylen)
{
	char dir[256];
	struct stat st;

	snprintf(dir, sizeof(dir), "%s/cell%d", vmm_runtime_dir(), cpu);
	if (mkdir(dir, 0700) && errno != EEXIST) {
		snprintf(why, whylen, "cannot create %s: %s", dir, strerror(errno));
		return -1;
	}
	if (stat(fs.mnt, &st) && errno == ENOTCONN)
		umount2(fs.mnt, MNT_DETACH);
	if (mkdir(fs.mnt, 0700) && errno != EEXIST) {
		snprintf(why, whylen, "cannot create %s: %s", fs.mnt, strerror(errno));
		return -1;
	}
	return 0;
}

int fifofs_start(struct cell *c, bool rt, char *why, size_t whylen)
{
	char fsname[64];
	char *argv[] = { "crtos", "-o", NULL, NULL };
	char opts[160];
	struct fuse_args args = FUSE_ARGS_INIT(3, argv);
	pthread_condattr_t ca;

	memset(&fs, 0, sizeof(fs));
	fs.c = c;
	fs.rt = rt;
	snprintf(fs.mnt, sizeof(fs.mnt), "%s/cell%d/fifo", vmm_runtime_dir(), cell_cpu(c));
	if (ff_prepare_dir(cell_cpu(c), why, whylen))
		return -1;
	snprintf(fsname, sizeof(fsname), "crtos-cell%d", cell_cpu(c));
	snprintf(opts, sizeof(opts), "default_permissions,fsname=%s,subtype=crtos", fsname);
	argv[2] = opts;
	pthread_mutex_init(&fs.lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&fs.cond, &ca);
	pthread_condattr_destroy(&ca);
	fs.se = fuse_session_new(&args, &ff_ops, sizeof(ff_ops), NULL);
	fuse_opt_free_args(&args);
	if (!fs.se) {
		snprintf(why, whylen, "libfuse3 cannot start a session");
		return -1;
	}
	if (fuse_session_mount(fs.se, fs.mnt)) {
		snprintf(why, whylen, "cannot mount FUSE at %s (is /dev/fuse there? modprobe fuse; "
			 "see the message above)", fs.mnt);
		fuse_session_destroy(fs.se);
		fs.se = NULL;
		return -1;
	}
	fs.event_started = !pthread_create(&fs.event_thread, NULL, ff_event_main, NULL);
	fs.loop_started = !pthread_create(&fs.loop_thread, NULL, ff_loop_main, NULL);
	return 0;
}

const char *fifofs_path(void)
{
	return fs.mnt;
}

void fifofs_stop(void)
{
	if (!fs.se)
		return;
	pthread_mutex_lock(&fs.lock);
	__atomic_store_n(&fs.stop, true, __ATOMIC_RELEASE);
	ff_changed_locked();
	pthread_mutex_unlock(&fs.lock);
	fuse_session_exit(fs.se);
	fuse_session_unmount(fs.se);	/* the loop's reads end */
	if (fs.loop_started)
		pthread_join(fs.loop_thread, NULL);
	if (fs.event_started)
		pthread_join(fs.event_thread, NULL);
	ff_close_all();
	fuse_session_destroy(fs.se);
	fs.se = NULL;
	rmdir(fs.mnt);
}
