// SPDX-License-Identifier: MIT
/*
 * The vDSO (build/vdso/vdso.so), mapped the way the kernel maps it: a clock
 * page filled from this host's clocks as tools/vmm/clock.c fills it, and the
 * image's bytes as is right above it, executable. Its functions are found as
 * the C libraries find them (musl's linear walk over DT_HASH, glibc's
 * DT_GNU_HASH lookup, both checking the version LINUX_2.6, and glibc's own
 * dlvsym()), called, and compared with this host's clocks and system calls.
 *
 * The image is found next to this binary (build/tests/unit/../../vdso/) or
 * at $CRTOS_VDSO.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <x86intrin.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <crtos/clock.h>
#include "harness.h"

#define PAGE		4096
#define NSEC		1000000000ll
#define TOLERANCE_NS	2000000ll	/* page filled as the VMM fills it, rate measured over 100 ms */

typedef int (*clock_gettime_fn)(clockid_t, struct timespec *);
typedef int (*gettimeofday_fn)(struct timeval *, struct timezone *);
typedef time_t (*time_fn)(time_t *);
typedef long (*getcpu_fn)(unsigned int *, unsigned int *, void *);

static struct {
	char path[PATH_MAX];
	uint8_t *map;			/* the clock page, then the image */
	size_t image_size;
	struct crtos_clock *clock;	/* map */
	const Elf64_Ehdr *ehdr;		/* map + PAGE: AT_SYSINFO_EHDR */
	uint64_t tsc_khz;
	clock_gettime_fn clock_gettime;
	gettimeofday_fn gettimeofday;
	time_fn time;
	getcpu_fn getcpu;
} vd;

static int64_t host_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return ts.tv_sec * NSEC + ts.tv_nsec;
}

static int64_t ts_ns(const struct timespec *ts)
{
	return ts->tv_sec * NSEC + ts->tv_nsec;
}

/* The host's TSC rate, measured against CLOCK_MONOTONIC over 100 ms. */
static uint64_t host_tsc_khz(void)
{
	uint64_t t0 = __rdtsc(), t1;
	int64_t m0 = host_ns(CLOCK_MONOTONIC), m1;

	usleep(100000);
	t1 = __rdtsc();
	m1 = host_ns(CLOCK_MONOTONIC);
	return (uint64_t)((unsigned __int128)(t1 - t0) * 1000000 / (uint64_t)(m1 - m0));
}

/* Fill the clock page as tools/vmm/clock.c does: the narrowest of 20 windows. */
static void clock_fill(struct crtos_clock *clk)
{
	uint64_t best = UINT64_MAX;

	memset(clk, 0, sizeof(*clk));
	clk->magic = CRTOS_CLOCK_MAGIC;
	clk->abi_version = CRTOS_ABI_VERSION;
	crtos_clock_set_rate(clk, vd.tsc_khz);
	for (int i = 0; i < 20; i++) {
		uint64_t t0 = __rdtsc();
		int64_t mono = host_ns(CLOCK_MONOTONIC);
		int64_t real = host_ns(CLOCK_REALTIME);
		int64_t boot = host_ns(CLOCK_BOOTTIME);
		uint64_t t1 = __rdtsc();

		if (t1 - t0 < best) {
			best = t1 - t0;
			clk->tsc_ref = t0 + (t1 - t0) / 2;
			clk->mono_ref_ns = mono;
			clk->real_ref_ns = real;
			clk->boot_ref_ns = boot;
		}
	}
}

/* build/tests/unit/test_vdso -> build/vdso/vdso.so, unless $CRTOS_VDSO says. */
static void vdso_find(void)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	char *slash;

	if (getenv("CRTOS_VDSO")) {
		snprintf(vd.path, sizeof(vd.path), "%s", getenv("CRTOS_VDSO"));
		return;
	}
	EXPECT(n > 0);
	exe[n] = 0;
	slash = strrchr(exe, '/');
	*slash = 0;
	EXPECT(snprintf(vd.path, sizeof(vd.path), "%s/../../vdso/vdso.so", exe) < (int)sizeof(vd.path));
}

/* Map the clock page and the image above it, once; fail clearly without it. */
static void vdso_load(void)
{
	struct stat st;
	int fd;

	if (vd.map)
		return;
	vdso_find();
	fd = open(vd.path, O_RDONLY);
	if (fd < 0)
		harness_fail(__FILE__, __LINE__, "cannot open the vDSO %s: %s (run 'make vdso', or set CRTOS_VDSO)",
			     vd.path, strerror(errno));
	EXPECT(fstat(fd, &st) == 0);
	EXPECT(st.st_size > 0 && st.st_size % PAGE == 0);
	vd.image_size = (size_t)st.st_size;
	vd.map = mmap(NULL, PAGE + vd.image_size, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	EXPECT(vd.map != MAP_FAILED);
	EXPECT(pread(fd, vd.map + PAGE, vd.image_size, 0) == (ssize_t)vd.image_size);
	close(fd);
	/* The clock page stays writable: the tests play the VMM. */
	EXPECT(mprotect(vd.map + PAGE, vd.image_size, PROT_READ | PROT_EXEC) == 0);
	vd.clock = (struct crtos_clock *)vd.map;
	vd.ehdr = (const Elf64_Ehdr *)(vd.map + PAGE);
	vd.tsc_khz = host_tsc_khz();
	clock_fill(vd.clock);
}

/* The image's dynamic section and load bias, read from its program headers. */
struct dso {
	uintptr_t base;
	const char *strings;
	const Elf64_Sym *syms;
	const uint32_t *hash, *gnu_hash;
	const uint16_t *versym;
	const Elf64_Verdef *verdef;
};

static struct dso dso_open(const Elf64_Ehdr *eh)
{
	const uint8_t *p = (const uint8_t *)eh;
	const Elf64_Dyn *dyn = NULL;
	struct dso d = { .base = UINTPTR_MAX };

	for (int i = 0; i < eh->e_phnum; i++) {
		const Elf64_Phdr *ph = (const Elf64_Phdr *)(p + eh->e_phoff + i * eh->e_phentsize);

		if (ph->p_type == PT_LOAD)
			d.base = (uintptr_t)p + ph->p_offset - ph->p_vaddr;
		else if (ph->p_type == PT_DYNAMIC)
			dyn = (const Elf64_Dyn *)(p + ph->p_offset);
	}
	EXPECT(dyn && d.base != UINTPTR_MAX);
	for (; dyn->d_tag != DT_NULL; dyn++) {
		const void *at = (const void *)(d.base + dyn->d_un.d_ptr);

		switch (dyn->d_tag) {
		case DT_STRTAB: d.strings = at; break;
		case DT_SYMTAB: d.syms = at; break;
		case DT_HASH: d.hash = at; break;
		case DT_GNU_HASH: d.gnu_hash = at; break;
		case DT_VERSYM: d.versym = at; break;
		case DT_VERDEF: d.verdef = at; break;
		}
	}
	return d;
}

/* The version definition with index ndx, or NULL. */
static const Elf64_Verdef *dso_verdef(const struct dso *d, uint16_t ndx)
{
	const Elf64_Verdef *def = d->verdef;

	for (;;) {
		if (!(def->vd_flags & VER_FLG_BASE) && (def->vd_ndx & 0x7fff) == (ndx & 0x7fff))
			return def;
		if (!def->vd_next)
			return NULL;
		def = (const Elf64_Verdef *)((const char *)def + def->vd_next);
	}
}

static bool dso_version_is(const struct dso *d, size_t sym, const char *vername)
{
	const Elf64_Verdef *def = dso_verdef(d, d->versym[sym]);
	const Elf64_Verdaux *aux;

	if (!def)
		return false;
	aux = (const Elf64_Verdaux *)((const char *)def + def->vd_aux);
	return !strcmp(vername, d->strings + aux->vda_name);
}

/*
 * musl's __vdsosym(): every symbol DT_HASH counts (nchain), a defined
 * function or object of that name, of version vername.
 */
static void *lookup_musl(const Elf64_Ehdr *eh, const char *vername, const char *name)
{
	struct dso d = dso_open(eh);

	if (!d.strings || !d.syms || !d.hash)
		return NULL;
	for (size_t i = 0; i < d.hash[1]; i++) {
		const Elf64_Sym *s = &d.syms[i];
		int type = ELF64_ST_TYPE(s->st_info), bind = ELF64_ST_BIND(s->st_info);

		if (type != STT_NOTYPE && type != STT_OBJECT && type != STT_FUNC && type != STT_COMMON)
			continue;
		if (bind != STB_GLOBAL && bind != STB_WEAK && bind != STB_GNU_UNIQUE)
			continue;
		if (!s->st_shndx || strcmp(name, d.strings + s->st_name))
			continue;
		if (d.versym && d.verdef && !dso_version_is(&d, i, vername))
			continue;
		return (void *)(d.base + s->st_value);
	}
	return NULL;
}

static uint32_t gnu_hash(const char *s)
{
	uint32_t h = 5381;

	for (; *s; s++)
		h = h * 33 + (uint8_t)*s;
	return h;
}

static uint32_t elf_hash(const char *s)
{
	uint32_t h = 0, g;

	for (; *s; s++) {
		h = (h << 4) + (uint8_t)*s;
		g = h & 0xf0000000;
		h ^= g >> 24;
		h &= ~g;
	}
	return h;
}

/*
 * glibc's lookup (dl_vdso_vsym -> _dl_lookup_symbol_x): DT_GNU_HASH's bloom
 * filter, bucket and chain, then the version by its ELF hash and name.
 */
static void *lookup_glibc(const Elf64_Ehdr *eh, const char *vername, const char *name)
{
	struct dso d = dso_open(eh);
	uint32_t h = gnu_hash(name), nbuckets, symoffset, bloom_size, bloom_shift;
	const uint64_t *bloom;
	const uint32_t *buckets, *chain;
	uint64_t word;

	if (!d.gnu_hash || !d.versym || !d.verdef)
		return NULL;
	nbuckets = d.gnu_hash[0];
	symoffset = d.gnu_hash[1];
	bloom_size = d.gnu_hash[2];
	bloom_shift = d.gnu_hash[3];
	bloom = (const uint64_t *)&d.gnu_hash[4];
	buckets = (const uint32_t *)&bloom[bloom_size];
	chain = &buckets[nbuckets] - symoffset;
	word = bloom[(h / 64) % bloom_size];
	if (!((word >> (h % 64)) & (word >> ((h >> bloom_shift) % 64)) & 1))
		return NULL;
	for (uint32_t i = buckets[h % nbuckets]; i; i++) {
		const Elf64_Sym *s = &d.syms[i];
		const Elf64_Verdef *def = dso_verdef(&d, d.versym[i]);

		if ((chain[i] | 1) == (h | 1) && s->st_value && s->st_shndx &&
		    !strcmp(name, d.strings + s->st_name) && def &&
		    def->vd_hash == elf_hash(vername) && dso_version_is(&d, i, vername))
			return (void *)(d.base + s->st_value);
		if (chain[i] & 1)
			break;
	}
	return NULL;
}

/* Load the image and find its functions as musl does. */
static void vdso_setup(void)
{
	vdso_load();
	vd.clock_gettime = (clock_gettime_fn)lookup_musl(vd.ehdr, "LINUX_2.6", "__vdso_clock_gettime");
	vd.gettimeofday = (gettimeofday_fn)lookup_musl(vd.ehdr, "LINUX_2.6", "__vdso_gettimeofday");
	vd.time = (time_fn)lookup_musl(vd.ehdr, "LINUX_2.6", "__vdso_time");
	vd.getcpu = (getcpu_fn)lookup_musl(vd.ehdr, "LINUX_2.6", "__vdso_getcpu");
	EXPECT(vd.clock_gettime && vd.gettimeofday && vd.time && vd.getcpu);
	clock_fill(vd.clock);
}

static int64_t vdso_ns(clockid_t clk)
{
	struct timespec ts;

	EXPECT_EQ(vd.clock_gettime(clk, &ts), 0);
	EXPECT(ts.tv_nsec >= 0 && ts.tv_nsec < NSEC);
	return ts_ns(&ts);
}

/* The vDSO's clock vclk reads between two reads of the host's hclk. */
static void expect_agrees(clockid_t vclk, clockid_t hclk)
{
	int64_t before = host_ns(hclk);
	int64_t got = vdso_ns(vclk);
	int64_t after = host_ns(hclk);

	if (got < before - TOLERANCE_NS || got > after + TOLERANCE_NS)
		harness_fail(__FILE__, __LINE__, "clock %d reads %lld ns, host clock %d %lld..%lld",
			     vclk, (long long)got, hclk, (long long)before, (long long)after);
}

static const char *const exports[] = {
	"__vdso_clock_gettime", "__vdso_gettimeofday", "__vdso_time", "__vdso_getcpu",
	"clock_gettime", "gettimeofday", "time", "getcpu",
};

TEST(vdso_musl_and_glibc_lookups_find_every_export)
{
	vdso_setup();
	for (size_t i = 0; i < sizeof(exports) / sizeof(exports[0]); i++) {
		void *m = lookup_musl(vd.ehdr, "LINUX_2.6", exports[i]);

		EXPECT(m != NULL);
		EXPECT(m == lookup_glibc(vd.ehdr, "LINUX_2.6", exports[i]));
		EXPECT(lookup_musl(vd.ehdr, "LINUX_2.5", exports[i]) == NULL);
		EXPECT(lookup_glibc(vd.ehdr, "LINUX_2.5", exports[i]) == NULL);
	}
	EXPECT(lookup_musl(vd.ehdr, "LINUX_2.6", "__vdso_clock_gettime") ==
	       lookup_musl(vd.ehdr, "LINUX_2.6", "clock_gettime"));
	EXPECT(lookup_glibc(vd.ehdr, "LINUX_2.6", "vdso_clock_ns") == NULL);
	EXPECT(lookup_musl(vd.ehdr, "LINUX_2.6", "vvar_clock") == NULL);
}

/* glibc's own versioned lookup, on the image loaded by its dynamic linker. */
TEST(vdso_glibc_dlvsym_finds_the_versioned_exports)
{
	void *h, *sym;
	Dl_info info;

	vdso_setup();
	h = dlopen(vd.path, RTLD_NOW | RTLD_LOCAL);
	if (!h)
		harness_fail(__FILE__, __LINE__, "dlopen %s: %s", vd.path, dlerror());
	for (size_t i = 0; i < sizeof(exports) / sizeof(exports[0]); i++) {
		uintptr_t ours = (uintptr_t)lookup_musl(vd.ehdr, "LINUX_2.6", exports[i]) -
				 (uintptr_t)vd.ehdr;

		sym = dlvsym(h, exports[i], "LINUX_2.6");
		EXPECT(sym != NULL);
		EXPECT(dladdr(sym, &info) != 0);
		EXPECT_EQ((uintptr_t)sym - (uintptr_t)info.dli_fbase, ours);
		EXPECT(dlvsym(h, exports[i], "LINUX_2.5") == NULL);
	}
	EXPECT(dlsym(h, "vdso_clock_ns") == NULL);
	dlclose(h);
}

TEST(vdso_clocks_agree_with_the_host)
{
	vdso_setup();
	expect_agrees(CLOCK_MONOTONIC, CLOCK_MONOTONIC);
	expect_agrees(CLOCK_REALTIME, CLOCK_REALTIME);
	expect_agrees(CLOCK_BOOTTIME, CLOCK_BOOTTIME);
	/* The RT kernel's aliases: RAW and COARSE are MONOTONIC, TAI is REALTIME. */
	expect_agrees(CLOCK_MONOTONIC_RAW, CLOCK_MONOTONIC);
	expect_agrees(CLOCK_MONOTONIC_COARSE, CLOCK_MONOTONIC);
	expect_agrees(CLOCK_REALTIME_COARSE, CLOCK_REALTIME);
	expect_agrees(CLOCK_TAI, CLOCK_REALTIME);
}

/* The clock page alone makes the answer: the host's clocks are not asked. */
TEST(vdso_clocks_follow_the_page)
{
	vdso_setup();
	vd.clock->mono_ref_ns += 1000 * NSEC;
	vd.clock->real_ref_ns -= 1000 * NSEC;
	vd.clock->boot_ref_ns += 2000 * NSEC;
	EXPECT(llabs(vdso_ns(CLOCK_MONOTONIC) - 1000 * NSEC - host_ns(CLOCK_MONOTONIC)) < TOLERANCE_NS);
	EXPECT(llabs(vdso_ns(CLOCK_REALTIME) + 1000 * NSEC - host_ns(CLOCK_REALTIME)) < TOLERANCE_NS);
	EXPECT(llabs(vdso_ns(CLOCK_BOOTTIME) - 2000 * NSEC - host_ns(CLOCK_BOOTTIME)) < TOLERANCE_NS);
	EXPECT(llabs(vdso_ns(CLOCK_MONOTONIC_RAW) - 1000 * NSEC - host_ns(CLOCK_MONOTONIC)) < TOLERANCE_NS);
	EXPECT(llabs(vdso_ns(CLOCK_MONOTONIC_COARSE) - 1000 * NSEC - host_ns(CLOCK_MONOTONIC)) < TOLERANCE_NS);
	EXPECT(llabs(vdso_ns(CLOCK_REALTIME_COARSE) + 1000 * NSEC - host_ns(CLOCK_REALTIME)) < TOLERANCE_NS);
	EXPECT(llabs(vdso_ns(CLOCK_TAI) + 1000 * NSEC - host_ns(CLOCK_REALTIME)) < TOLERANCE_NS);
	/* A TSC behind the reference reads as the reference, not centuries ahead. */
	vd.clock->tsc_ref = __rdtsc() + 1000000000ull;
	EXPECT_EQ(vdso_ns(CLOCK_MONOTONIC), vd.clock->mono_ref_ns);
	clock_fill(vd.clock);
}

TEST(vdso_clocks_never_go_back)
{
	static const clockid_t clocks[] = { CLOCK_MONOTONIC, CLOCK_BOOTTIME };

	vdso_setup();
	for (size_t c = 0; c < sizeof(clocks) / sizeof(clocks[0]); c++) {
		clockid_t clk = clocks[c];
		int64_t prev = vdso_ns(clk);

		for (int i = 0; i < 100000; i++) {
			int64_t now = vdso_ns(clk);

			EXPECT(now >= prev);
			prev = now;
		}
	}
}

TEST(vdso_gettimeofday_and_time_are_realtime)
{
	struct timeval tv;
	struct timezone tz = { 123, 4 };
	int64_t before, after;
	time_t t = 0, ret;

	vdso_setup();
	before = vdso_ns(CLOCK_REALTIME);
	EXPECT_EQ(vd.gettimeofday(&tv, &tz), 0);
	after = vdso_ns(CLOCK_REALTIME);
	EXPECT(tv.tv_usec >= 0 && tv.tv_usec < 1000000);
	EXPECT(tv.tv_sec * 1000000 + tv.tv_usec >= before / 1000);
	EXPECT(tv.tv_sec * 1000000 + tv.tv_usec <= after / 1000);
	EXPECT(tz.tz_minuteswest == 0 && tz.tz_dsttime == 0);
	tz.tz_minuteswest = 5;
	EXPECT_EQ(vd.gettimeofday(NULL, &tz), 0);
	EXPECT_EQ(tz.tz_minuteswest, 0);
	EXPECT_EQ(vd.gettimeofday(NULL, NULL), 0);

	before = vdso_ns(CLOCK_REALTIME);
	ret = vd.time(&t);
	after = vdso_ns(CLOCK_REALTIME);
	EXPECT_EQ(ret, t);
	EXPECT(ret >= before / NSEC && ret <= after / NSEC);
	EXPECT(vd.time(NULL) >= ret);
	EXPECT(llabs(vd.time(NULL) - time(NULL)) <= 1);
}

TEST(vdso_getcpu_is_the_cells_cpu_node_0)
{
	unsigned int cpu = 7, node = 7;

	vdso_setup();
	vd.clock->cpu = 3;
	EXPECT_EQ(vd.getcpu(&cpu, &node, NULL), 0);
	EXPECT_EQ(cpu, 3);
	EXPECT_EQ(node, 0);
	EXPECT_EQ(vd.getcpu(NULL, NULL, NULL), 0);
	vd.clock->cpu = 0;
}

/* The real system call's answer, as the vDSO returns it: 0 or -errno. */
static int syscall_clock_gettime(clockid_t clk, struct timespec *ts)
{
	return syscall(SYS_clock_gettime, clk, ts) ? -errno : 0;
}

TEST(vdso_cpu_time_clocks_are_the_system_calls)
{
	static const clockid_t clocks[] = { CLOCK_PROCESS_CPUTIME_ID, CLOCK_THREAD_CPUTIME_ID };

	vdso_setup();
	for (size_t i = 0; i < sizeof(clocks) / sizeof(clocks[0]); i++) {
		struct timespec a, b, ts;

		EXPECT_EQ(syscall_clock_gettime(clocks[i], &a), 0);
		EXPECT_EQ(vd.clock_gettime(clocks[i], &ts), 0);
		EXPECT_EQ(syscall_clock_gettime(clocks[i], &b), 0);
		EXPECT(ts_ns(&a) <= ts_ns(&ts) && ts_ns(&ts) <= ts_ns(&b));
	}
}

TEST(vdso_bad_clock_ids_and_pointers_get_the_system_calls_errors)
{
	static const clockid_t bad[] = { 10, 12, 16, 100, INT32_MAX };
	struct timespec ts;

	vdso_setup();
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		EXPECT_EQ(vd.clock_gettime(bad[i], &ts), -EINVAL);
		EXPECT_EQ(syscall_clock_gettime(bad[i], &ts), -EINVAL);
	}
	EXPECT_EQ(vd.clock_gettime(CLOCK_MONOTONIC, NULL), -EFAULT);
	EXPECT_EQ(vd.clock_gettime(CLOCK_MONOTONIC, NULL), syscall_clock_gettime(CLOCK_MONOTONIC, NULL));
}

/* A page that is not a valid clock page is ignored: every call is the system call's. */
TEST(vdso_falls_back_to_the_system_call_without_a_valid_page)
{
	vdso_setup();
	for (int bad = 0; bad < 2; bad++) {
		struct timeval tv;

		clock_fill(vd.clock);
		if (bad)
			vd.clock->abi_version = CRTOS_ABI_VERSION + 1;
		else
			vd.clock->magic = ~CRTOS_CLOCK_MAGIC;
		/* What the page would say is a day off. */
		vd.clock->mono_ref_ns += 86400 * NSEC;
		vd.clock->real_ref_ns += 86400 * NSEC;
		vd.clock->boot_ref_ns += 86400 * NSEC;
		expect_agrees(CLOCK_MONOTONIC, CLOCK_MONOTONIC);
		expect_agrees(CLOCK_REALTIME, CLOCK_REALTIME);
		expect_agrees(CLOCK_BOOTTIME, CLOCK_BOOTTIME);
		EXPECT_EQ(vd.gettimeofday(&tv, NULL), 0);
		EXPECT(llabs(tv.tv_sec - time(NULL)) <= 1);
		EXPECT(llabs(vd.time(NULL) - time(NULL)) <= 1);
	}
	clock_fill(vd.clock);
}

static int64_t released_at;

/* The VMM finishing an update: seq even again after 20 ms. */
static void *seq_release(void *arg)
{
	(void)arg;
	usleep(20000);
	__atomic_store_n(&released_at, host_ns(CLOCK_MONOTONIC), __ATOMIC_RELAXED);
	__atomic_store_n(&vd.clock->seq, vd.clock->seq + 1, __ATOMIC_RELEASE);
	return NULL;
}

TEST(vdso_waits_while_the_page_is_being_updated)
{
	int64_t start, got, end;
	pthread_t writer;

	vdso_setup();
	__atomic_store_n(&vd.clock->seq, vd.clock->seq | 1, __ATOMIC_RELEASE);
	start = host_ns(CLOCK_MONOTONIC);
	EXPECT_EQ(pthread_create(&writer, NULL, seq_release, NULL), 0);
	got = vdso_ns(CLOCK_MONOTONIC);
	end = host_ns(CLOCK_MONOTONIC);
	pthread_join(writer, NULL);
	EXPECT(!(vd.clock->seq & 1));
	EXPECT(end - start >= 15000000);
	EXPECT(end >= released_at);
	EXPECT(got >= released_at - TOLERANCE_NS && got <= end + TOLERANCE_NS);
}

static bool stress_done;
static unsigned long stress_updates;
static pthread_t stress_thread;

/*
 * The VMM moving the reference back and forth by 2^30 cycles, one field at a
 * time. With mult a multiple of 2^10 both references give the same clocks to
 * the nanosecond; a read that mixed them would be off by 2^30 cycles' worth.
 */
static void *stress_writer(void *arg)
{
	struct crtos_clock *c = vd.clock;
	const uint64_t cycles = 1ull << 30;
	const int64_t ns = (int64_t)(c->mult >> 10);

	(void)arg;
	for (int dir = -1; !__atomic_load_n(&stress_done, __ATOMIC_ACQUIRE); dir = -dir) {
		uint32_t seq = c->seq;

		__atomic_store_n(&c->seq, seq + 1, __ATOMIC_RELAXED);
		__atomic_thread_fence(__ATOMIC_RELEASE);
		__atomic_store_n(&c->tsc_ref, c->tsc_ref + (uint64_t)dir * cycles, __ATOMIC_RELAXED);
		for (int i = 0; i < 50; i++)
			_mm_pause();
		__atomic_store_n(&c->mono_ref_ns, c->mono_ref_ns + dir * ns, __ATOMIC_RELAXED);
		__atomic_store_n(&c->seq, seq + 2, __ATOMIC_RELEASE);
		stress_updates++;
		for (int i = 0; i < 200; i++)
			_mm_pause();
	}
	return NULL;
}

/* Stop the writer (also when a check fails with it running). */
static void stress_stop(void)
{
	__atomic_store_n(&stress_done, true, __ATOMIC_RELEASE);
	pthread_join(stress_thread, NULL);
	harness_cleanup = NULL;
	clock_fill(vd.clock);
}

TEST(vdso_never_returns_a_torn_read)
{
	int64_t prev, worst = 0;
	bool backwards = false;

	vdso_setup();
	vd.clock->mult &= ~1023ull;
	EXPECT(vd.clock->tsc_ref > (1ull << 31));
	stress_done = false;
	stress_updates = 0;
	EXPECT_EQ(pthread_create(&stress_thread, NULL, stress_writer, NULL), 0);
	harness_cleanup = stress_stop;
	prev = vdso_ns(CLOCK_MONOTONIC);
	/* 200000 reads, and on a loaded machine more, until the writer made 1000 updates (3 s at most). */
	for (int i = 0, until = 3000; i < 200000 ||
	     (__atomic_load_n(&stress_updates, __ATOMIC_RELAXED) < 1000 && until-- > 0); i++) {
		int64_t before = host_ns(CLOCK_MONOTONIC);
		int64_t now = vdso_ns(CLOCK_MONOTONIC);
		int64_t after = host_ns(CLOCK_MONOTONIC);

		backwards |= now < prev;
		if (now < before - worst)
			worst = before - now;
		if (now - after > worst)
			worst = now - after;
		prev = now;
		if (i >= 200000)
			usleep(1000);	/* let the writer run */
	}
	stress_stop();
	EXPECT(!backwards);
	if (worst > TOLERANCE_NS)
		harness_fail(__FILE__, __LINE__, "a read was %lld ns off the host's clock",
			     (long long)worst);
	EXPECT(stress_updates >= 1000);
}
