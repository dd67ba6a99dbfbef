// SPDX-License-Identifier: MIT
/*
 * KVM plumbing: the VM with an in-kernel local APIC, one vCPU with the
 * CPUID decided in cpu.c (KVM must offer x2APIC and TSC deadline), the log doorbell
 * (ioeventfd on the hypercall window) and the kick (irqfd -> MSI).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <crtos/mmio.h>
#include "internal.h"

int vmm_kvm_open(const char *path, struct vmm_err *err)
{
	int fd, version;

	if (!path)
		path = "/dev/kvm";
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT)
		return vmm_fail(err, -ENOENT,
				"%s does not exist: this machine offers no KVM. Load the module "
				"(modprobe kvm_intel or kvm_amd), enable virtualization in the "
				"firmware, or run crtos on a host that has /dev/kvm.", path);
	if (fd < 0 && (errno == EACCES || errno == EPERM))
		return vmm_fail(err, -EACCES,
				"%s: permission denied. Run crtos as root, or give your user "
				"access to KVM (usermod -aG kvm $USER, then log in again).", path);
	if (fd < 0)
		return vmm_fail(err, -errno, "cannot open %s: %s", path, strerror(errno));
	version = ioctl(fd, KVM_GET_API_VERSION, 0);
	if (version != KVM_API_VERSION) {
		close(fd);
		return vmm_fail(err, -ENOTSUP, "%s speaks KVM API %d, crtos needs %d",
				path, version, KVM_API_VERSION);
	}
	return fd;
}

int kvm_create_vm(struct cell *c, struct vmm_err *err)
{
	struct kvm_userspace_memory_region ram = {
		.slot = 0,
		.guest_phys_addr = 0,
		.memory_size = c->mem_size,
		.userspace_addr = (uint64_t)(uintptr_t)c->mem,
	};

	c->vm_fd = ioctl(c->kvm_fd, KVM_CREATE_VM, 0);
	if (c->vm_fd < 0)
		return vmm_fail(err, -errno, "KVM_CREATE_VM failed: %s", strerror(errno));
	if (ioctl(c->vm_fd, KVM_CREATE_IRQCHIP, 0))
		return vmm_fail(err, -errno, "KVM_CREATE_IRQCHIP failed: %s", strerror(errno));
	if (ioctl(c->vm_fd, KVM_SET_USER_MEMORY_REGION, &ram))
		return vmm_fail(err, -errno, "KVM_SET_USER_MEMORY_REGION (%llu MiB) failed: %s",
				(unsigned long long)(c->mem_size / MiB), strerror(errno));
	return 0;
}

/*
 * XCR0 as the kernel will load it, set from here too: KVM then knows it from
 * the start. (The kernel's own XSETBV is enough on hardware; QEMU's emulated
 * AMD-V does not intercept XSETBV, so KVM would go on restoring the reset
 * value, x87 only, at every VM entry, and XSAVE would silently lose SSE and
 * AVX state: measured in the test VM.)
 */
static int kvm_set_xcr0(struct cell *c, struct vmm_err *err)
{
	struct kvm_xcrs xcrs = { .nr_xcrs = 1, .xcrs = { { .xcr = 0, .value = c->guest.xcr0 } } };

	if (!c->guest.xsave)
		return 0;
	if (ioctl(c->vcpu_fd, KVM_SET_XCRS, &xcrs))
		return vmm_fail(err, -errno, "KVM_SET_XCRS (XCR0 %#llx) failed: %s",
				(unsigned long long)c->guest.xcr0, strerror(errno));
	return 0;
}

/* Guest CPUID: what KVM offers, as decided in cpu.c; the kernel needs x2APIC and TSC deadline. */
static int kvm_set_cpuid(struct cell *c, struct vmm_err *err)
{
	struct kvm_cpuid2 *cpuid;
	int ret = vmm_guest_cpu_probe(c->kvm_fd, &c->guest, &cpuid, err);

	if (ret)
		return ret;
	if (!c->guest.x2apic)
		ret = vmm_fail(err, -ENODEV, "KVM offers no x2APIC (CPUID.1:ECX.x2APIC): the crtos "
			       "kernel needs it; is the in-kernel irqchip available?");
	else if (!c->guest.tsc_deadline)
		ret = vmm_fail(err, -ENODEV, "KVM offers no TSC-deadline timer "
			       "(KVM_CAP_TSC_DEADLINE_TIMER): the crtos kernel needs it");
	else if (ioctl(c->vcpu_fd, KVM_SET_CPUID2, cpuid))
		ret = vmm_fail(err, -errno, "KVM_SET_CPUID2 failed: %s", strerror(errno));
	free(cpuid);
	return ret ?: kvm_set_xcr0(c, err);
}

int kvm_create_vcpu(struct cell *c, struct vmm_err *err)
{
	int size;

	c->vcpu_fd = ioctl(c->vm_fd, KVM_CREATE_VCPU, 0);
	if (c->vcpu_fd < 0)
		return vmm_fail(err, -errno, "KVM_CREATE_VCPU failed: %s", strerror(errno));
	size = ioctl(c->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (size <= 0)
		return vmm_fail(err, -EIO, "KVM_GET_VCPU_MMAP_SIZE failed");
	c->run = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_SHARED, c->vcpu_fd, 0);
	if (c->run == MAP_FAILED) {
		c->run = NULL;
		return vmm_fail(err, -errno, "mmap of the vCPU run area failed: %s", strerror(errno));
	}
	c->run_size = (size_t)size;
	return kvm_set_cpuid(c, err);
}

/* The log and FIFO doorbells (no exit) and the kick (an MSI to CRTOS_VEC_KICK). */
int kvm_setup_events(struct cell *c, struct vmm_err *err)
{
	struct kvm_ioeventfd doorbell = {
		.addr = c->mmio_gpa + CRTOS_MMIO_LOG_DOORBELL,
		.len = 8,
	};
	struct {
		struct kvm_irq_routing table;
		struct kvm_irq_routing_entry entry;
	} routing = {
		.table = { .nr = 1 },
		.entry = {
			.gsi = 0,
			.type = KVM_IRQ_ROUTING_MSI,
			.u.msi = { .address_lo = 0xfee00000, .data = CRTOS_VEC_KICK },
		},
	};
	struct kvm_irqfd irqfd = { .gsi = 0 };
	struct kvm_ioeventfd fifo_bell = {
		.addr = c->mmio_gpa + CRTOS_MMIO_FIFO_DOORBELL,
		.len = 8,
	};

	c->log_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	c->kick_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	c->stop_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	c->fifo_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (c->log_efd < 0 || c->kick_efd < 0 || c->stop_efd < 0 || c->fifo_efd < 0)
		return vmm_fail(err, -errno, "eventfd failed: %s", strerror(errno));
	doorbell.fd = c->log_efd;
	fifo_bell.fd = c->fifo_efd;
	if (ioctl(c->vm_fd, KVM_IOEVENTFD, &doorbell) || ioctl(c->vm_fd, KVM_IOEVENTFD, &fifo_bell))
		return vmm_fail(err, -errno, "KVM_IOEVENTFD failed: %s", strerror(errno));
	if (ioctl(c->vm_fd, KVM_SET_GSI_ROUTING, &routing))
		return vmm_fail(err, -errno, "KVM_SET_GSI_ROUTING failed: %s", strerror(errno));
	irqfd.fd = (uint32_t)c->kick_efd;
	if (ioctl(c->vm_fd, KVM_IRQFD, &irqfd))
		return vmm_fail(err, -errno, "KVM_IRQFD failed: %s", strerror(errno));
	return 0;
}

/* The vCPU's registers as a struct crtos_regs (vector/error_code zero). */
int kvm_get_regs(struct cell *c, struct crtos_regs *r)
{
	struct kvm_regs regs;
	struct kvm_sregs sregs;

	if (ioctl(c->vcpu_fd, KVM_GET_REGS, &regs) || ioctl(c->vcpu_fd, KVM_GET_SREGS, &sregs))
		return -errno;
	*r = (struct crtos_regs){
		.rax = regs.rax, .rbx = regs.rbx, .rcx = regs.rcx, .rdx = regs.rdx,
		.rsi = regs.rsi, .rdi = regs.rdi, .rbp = regs.rbp, .rsp = regs.rsp,
		.r8 = regs.r8, .r9 = regs.r9, .r10 = regs.r10, .r11 = regs.r11,
		.r12 = regs.r12, .r13 = regs.r13, .r14 = regs.r14, .r15 = regs.r15,
		.rip = regs.rip, .rflags = regs.rflags, .cs = sregs.cs.selector,
		.ss = sregs.ss.selector, .cr2 = sregs.cr2,
	};
	return 0;
}
