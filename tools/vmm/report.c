// SPDX-License-Identifier: MIT
/*
 * Reports of a kernel that stopped badly: a panic (the kernel's own record
 * in the comm page), a fault the ring-0 nucleus could not reflect, or a vCPU
 * KVM could not continue. Addresses are symbolized with the kernel ELF.
 */
#include <string.h>
#include <asm/x86.h>
#include "internal.h"

static void report_addr(FILE *out, const struct vmm_image *img, uint64_t addr)
{
	uint64_t off;
	const char *name = vmm_image_symbol(img, addr, &off);

	if (name)
		fprintf(out, "%016llx <%s+%#llx>", (unsigned long long)addr, name,
			(unsigned long long)off);
	else
		fprintf(out, "%016llx", (unsigned long long)addr);
}

void vmm_report_regs(FILE *out, const struct vmm_image *img, const struct crtos_regs *r)
{
	fprintf(out, "  rip ");
	report_addr(out, img, r->rip);
	fprintf(out, "\n  rsp %016llx  rflags %016llx  cs %llx  ss %llx\n",
		(unsigned long long)r->rsp, (unsigned long long)r->rflags,
		(unsigned long long)r->cs, (unsigned long long)r->ss);
	fprintf(out, "  rax %016llx  rbx %016llx  rcx %016llx  rdx %016llx\n",
		(unsigned long long)r->rax, (unsigned long long)r->rbx,
		(unsigned long long)r->rcx, (unsigned long long)r->rdx);
	fprintf(out, "  rsi %016llx  rdi %016llx  rbp %016llx  r8  %016llx\n",
		(unsigned long long)r->rsi, (unsigned long long)r->rdi,
		(unsigned long long)r->rbp, (unsigned long long)r->r8);
	fprintf(out, "  r9  %016llx  r10 %016llx  r11 %016llx  r12 %016llx\n",
		(unsigned long long)r->r9, (unsigned long long)r->r10,
		(unsigned long long)r->r11, (unsigned long long)r->r12);
	fprintf(out, "  r13 %016llx  r14 %016llx  r15 %016llx\n",
		(unsigned long long)r->r13, (unsigned long long)r->r14, (unsigned long long)r->r15);
	fprintf(out, "  vector %llu  error code %#llx  cr2 %016llx\n",
		(unsigned long long)r->vector, (unsigned long long)r->error_code,
		(unsigned long long)r->cr2);
}

void vmm_report_backtrace(FILE *out, const struct vmm_image *img, const uint64_t *frames,
			  unsigned int n)
{
	fprintf(out, "crtos: backtrace:\n");
	for (unsigned int i = 0; i < n; i++) {
		fprintf(out, "  #%-2u ", i);
		report_addr(out, img, frames[i]);
		fputc('\n', out);
	}
}

/*
 * Walk the kernel's frame-pointer chain in guest memory from rbp, for
 * reports the kernel could not write itself.
 */
static void report_guest_backtrace(struct cell *c, uint64_t rip, uint64_t rbp)
{
	uint64_t frames[CRTOS_PANIC_FRAMES];
	unsigned int n = 0;
	uint64_t gpa;

	frames[n++] = rip;
	while (n < CRTOS_PANIC_FRAMES && !(rbp & 7) && cell_kernel_gpa(c, rbp, 16, &gpa)) {
		const uint64_t *f = (const uint64_t *)(c->mem + gpa);
		uint64_t off;

		if (!vmm_image_symbol(&c->img, f[1], &off))
			break;
		frames[n++] = f[1];
		if (f[0] <= rbp)
			break;
		rbp = f[0];
	}
	vmm_report_backtrace(c->msg, &c->img, frames, n);
}

void report_panic(struct cell *c)
{
	struct crtos_panic_record rec;

	memcpy(&rec, &c->comm->panic, sizeof(rec));
	rec.file[sizeof(rec.file) - 1] = '\0';
	rec.msg[sizeof(rec.msg) - 1] = '\0';
	if (rec.nr_frames > CRTOS_PANIC_FRAMES)
		rec.nr_frames = CRTOS_PANIC_FRAMES;
	fprintf(c->msg, "crtos: kernel panic: %s\n", rec.msg);
	if (!rec.has_regs)
		fprintf(c->msg, "crtos:   at %s:%u\n", rec.file, rec.line);
	if (rec.has_regs) {
		fprintf(c->msg, "crtos: registers at the fault:\n");
		vmm_report_regs(c->msg, &c->img, &rec.regs);
	}
	vmm_report_backtrace(c->msg, &c->img, rec.frames, rec.nr_frames);
	fflush(c->msg);
}

/*
 * The nucleus rang the panic doorbell from ring 0: regs are the vCPU's,
 * frame[] the words at its rsp: rax, vector, error, rip, cs, rflags, rsp, ss.
 */
void report_nucleus_fault(struct cell *c, const struct crtos_regs *regs, const uint64_t *frame)
{
	struct crtos_regs r = *regs;
	const char *where = (frame[4] & 3) ? "while an event was being reflected" : "in ring 0";

	r.rax = frame[0];
	r.vector = frame[1];
	r.error_code = frame[2];
	r.rip = frame[3];
	r.cs = frame[4];
	r.rflags = frame[5];
	r.rsp = frame[6];
	r.ss = frame[7];
	fprintf(c->msg, "crtos: kernel fatal: exception %llu %s, which the kernel cannot handle\n",
		(unsigned long long)r.vector, where);
	fprintf(c->msg, "crtos: registers at the fault:\n");
	vmm_report_regs(c->msg, &c->img, &r);
	report_guest_backtrace(c, r.rip, r.rbp);
	fflush(c->msg);
}

/* Link address of a kernel symbol, 0 if the image does not have it. */
static uint64_t report_symbol_addr(const struct cell *c, const char *name)
{
	for (size_t i = 0; i < c->img.nr_syms; i++)
		if (!strcmp(c->img.syms[i].name, name))
			return c->img.syms[i].addr;
	return 0;
}

/*
 * After a triple fault KVM has reset the vCPU: its registers say nothing.
 * What is left are the frames the CPU pushed on the nucleus stack (TSS.RSP0,
 * where every event from a program lands): the top words, nonzero ones,
 * symbolized. Repeated frames at one RIP mean an exception recursing in the
 * nucleus. This is how the double interrupt delivery of docs/test-vm.md was
 * found.
 */
void report_triple_fault(struct cell *c)
{
	uint64_t base = report_symbol_addr(c, "x86_nucleus_stack");
	unsigned int shown = 0;

	if (!base || base + X86_NUCLEUS_STACK_SIZE > c->mem_size)
		return;
	fprintf(c->msg, "crtos: the top of the nucleus stack (the last frames the CPU pushed; "
		"the registers above are the reset state KVM left):\n");
	for (int off = X86_NUCLEUS_STACK_SIZE - 8; off >= 0 && shown < 24; off -= 8) {
		uint64_t w, o = 0;
		const char *sym;

		memcpy(&w, c->mem + base + (uint64_t)off, sizeof(w));
		if (!w)
			continue;
		sym = vmm_image_symbol(&c->img, w, &o);
		if (sym)
			fprintf(c->msg, "  +%#05x %016llx <%s+%#llx>\n", off, (unsigned long long)w,
				sym, (unsigned long long)o);
		else
			fprintf(c->msg, "  +%#05x %016llx\n", off, (unsigned long long)w);
		shown++;
	}
}

/* The vCPU is somewhere it should not be: say where, with its registers. */
void report_vcpu_state(struct cell *c, const char *what)
{
	struct crtos_regs r;

	fprintf(c->msg, "crtos: %s\n", what);
	if (!kvm_get_regs(c, &r)) {
		fprintf(c->msg, "crtos: vCPU registers:\n");
		vmm_report_regs(c->msg, &c->img, &r);
		report_guest_backtrace(c, r.rip, r.rbp);
	}
	fflush(c->msg);
}
