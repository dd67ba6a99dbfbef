// SPDX-License-Identifier: MIT
/*
 * The Linux personality's hooks into the core (kernel/personality.h): the
 * VMM's control requests (process creation and reaping, RT-FIFOs), exec requests and
 * forwarded signals from shadows, completed remote calls, and faults in
 * user code.
 *
 * Control requests and exec requests are served by the "lx-ctl" kernel
 * thread in the SCHED_OTHER band (time-sliced): a program spinning there
 * cannot keep new programs from starting, and the work (allocating a
 * channel, freeing a whole process) runs unmasked and preemptible, never
 * in the way of an RT thread. A reap of a process that still runs kills it
 * at once, from the kick's interrupt, whatever its threads are doing.
 */
#include <kernel/kernel.h>
#include <kernel/printk.h>
#include <kernel/personality.h>
#include <kernel/timer.h>
#include <linuxabi/linux.h>
#include <linuxabi/rtfd.h>
#include <crtos/mmio.h>

static struct thread *lx_ctl_thread;

/* Whether the VMM has a control request waiting. Any context. */
static bool lx_ctl_pending(void)
{
	struct crtos_ctl *ctl = &kernel_comm()->ctl;

	return __atomic_load_n(&ctl->req_seq, __ATOMIC_ACQUIRE) != READ_ONCE(ctl->ack_seq);
}

/* One request from the VMM (comm.ctl), if there is one. The lx-ctl thread. */
static bool lx_ctl_serve(void)
{
	struct crtos_ctl *ctl = &kernel_comm()->ctl;
	uint32_t req = __atomic_load_n(&ctl->req_seq, __ATOMIC_ACQUIRE);
	uint64_t gpa = 0;
	unsigned int index = 0;

	if (req == ctl->ack_seq)
		return false;
	switch (ctl->op) {
	case CRTOS_CTL_SPAWN:
		ctl->result = lx_process_spawn(&gpa, &index);
		ctl->out[0] = gpa;
		ctl->out[1] = index;
		break;
	case CRTOS_CTL_REAP:
		ctl->result = lx_process_reap((unsigned int)ctl->args[0]);
		break;
	case CRTOS_CTL_FIFO_CREATE:
		ctl->name[sizeof(ctl->name) - 1] = '\0';
		ctl->result = (int)lx_rtfifo_create(ctl->name, ctl->args[0], &ctl->out[0]);
		break;
	case CRTOS_CTL_FIFO_REMOVE:
		ctl->name[sizeof(ctl->name) - 1] = '\0';
		ctl->result = (int)lx_rtfifo_remove(ctl->name);
		break;
	default:
		ctl->result = -EINVAL;
		break;
	}
	__atomic_store_n(&ctl->ack_seq, req, __ATOMIC_RELEASE);
	return true;
}

static bool lx_ctl_work(void)
{
	return lx_ctl_pending() || lx_process_start_pending();
}

static void lx_ctl_main(void *arg __unused)
{
	for (;;) {
		unsigned long flags = arch_irq_save();

		if (!lx_ctl_work())
			sched_block();	/* lx_ctl_kick() */
		arch_irq_restore(flags);
		lx_ctl_serve();
		lx_process_start_requested();
	}
}

/* Wake the lx-ctl thread if it has something to do. Masked. */
static bool lx_ctl_kick(void)
{
	if (!lx_ctl_work())
		return false;
	sched_wake(lx_ctl_thread);
	return true;
}

int personality_init(void)
{
	lx_futex_init();
	lx_rtfifo_init();
	lx_shm_init();
	lx_ctl_thread = thread_create("lx-ctl", 0, lx_ctl_main, NULL, false);
	if (!lx_ctl_thread)
		return -ENOMEM;
	sched_set_sliced(lx_ctl_thread, true);
	sched_wake(lx_ctl_thread);
	pr_info("linux personality: up to %d processes, %d threads each\n", CRTOS_MAX_PROCESSES,
		CRTOS_MAX_THREADS);
	return 0;
}

/* A reap of a process that still runs: end it now (its shadow is gone). Masked. */
static void lx_ctl_reap_kills(void)
{
	struct crtos_ctl *ctl = &kernel_comm()->ctl;
	struct lx_process *p;

	if (!lx_ctl_pending() || READ_ONCE(ctl->op) != CRTOS_CTL_REAP)
		return;
	p = lx_find_index((unsigned int)READ_ONCE(ctl->args[0]));
	if (p && p->state == LX_PROC_RUNNING)
		lx_process_kill(p, CRTOS_EXIT_SIGNAL, SIGKILL);
}

bool personality_poll(void)
{
	unsigned long flags = arch_irq_save();
	bool busy = false;

	busy |= lx_ctl_kick();
	busy |= lx_process_poll_signals();
	busy |= rcall_poll();
	busy |= lx_rtfifo_poll();
	arch_irq_restore(flags);
	return busy;
}

void personality_interrupt(void)
{
	rcall_poll();
	lx_rtfifo_poll();
	lx_process_poll_signals();
	lx_ctl_reap_kills();
	lx_ctl_kick();
}

/* RT-FIFOs that Linux changes need no kick: the idle loop looks at them. */
void personality_start_polling(void)
{
	lx_rtfifo_set_polling(true);
}

/*
 * Callers of remote calls (and RT-FIFO waiters) were left to the idle loop's polling: now their
 * twins must kick the CPU when done (a thread that runs meanwhile may be of
 * lower priority: it must not delay them). Calls done already are taken.
 */
void personality_stop_polling(void)
{
	rcall_set_wake_all();
	lx_rtfifo_set_polling(false);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	rcall_poll();
	lx_rtfifo_poll();
}

/*
 * What a fatal fault's log line cannot say, as Linux's "Code:" line does:
 * the instruction bytes at ip and the words at the top of the stack (return
 * addresses to find the function in). What cannot be read is left out.
 */
static void user_fault_report(const arch_regs_t *regs)
{
	uint8_t code[16];
	uint64_t stack[6];

	if (!copy_from_user(code, arch_regs_ip(regs), sizeof(code)))
		pr_info("  code: %02x %02x %02x %02x %02x %02x %02x %02x %02x %02x %02x %02x "
			"%02x %02x %02x %02x\n", code[0], code[1], code[2], code[3], code[4],
			code[5], code[6], code[7], code[8], code[9], code[10], code[11],
			code[12], code[13], code[14], code[15]);
	if (!copy_from_user(stack, arch_regs_sp(regs), sizeof(stack)))
		pr_info("  stack at %#lx: %#lx %#lx %#lx %#lx %#lx %#lx\n",
			(unsigned long)arch_regs_sp(regs), (unsigned long)stack[0],
			(unsigned long)stack[1], (unsigned long)stack[2], (unsigned long)stack[3],
			(unsigned long)stack[4], (unsigned long)stack[5]);
}

/*
 * A fault in user code: a synchronous signal for the thread. If it is
 * blocked or ignored it cannot be, and it kills (Linux's force_sig_fault).
 */
void user_exception(arch_regs_t *regs, int sig, int code, uint64_t addr)
{
	struct lx_thread *lt = lx_current();
	struct lx_sigaction *sa;
	siginfo_t info;

	if (!lt) {
		pr_err("fault in user code without a process\n");
		return;
	}
	if (sig == SIGSEGV && code == SEGV_MAPERR && lx_mm_fault_is_bus(addr)) {
		sig = SIGBUS;	/* past the end of a shared object, as Linux */
		code = BUS_ADRERR;
	}
	sa = &lt->proc->sigactions[sig];
	if (lt->sigmask & LX_SIGBIT(sig) || sa->handler == (uint64_t)SIG_IGN) {
		sa->handler = (uint64_t)SIG_DFL;
		lt->sigmask &= ~LX_SIGBIT(sig);
	}
	if (sa->handler == (uint64_t)SIG_DFL) {
		pr_info("process %d: %s at ip %#lx (address %#lx), killed by signal %d\n",
			lt->proc->pid, sig == SIGSEGV ? "segfault" : "fault",
			(unsigned long)arch_regs_ip(regs), (unsigned long)addr, sig);
		user_fault_report(regs);
	}
	lx_signal_simple_info(&info, sig, code);
	info.si_addr = (void *)(uintptr_t)addr;
	lx_signal_send(lt->proc, lt, &info);
}
