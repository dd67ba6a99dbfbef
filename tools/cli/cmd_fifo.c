// SPDX-License-Identifier: MIT
/*
 * crtos fifo: create, list, remove and show the RT-FIFOs of a held cell
 * (crtos cell --hold), through its socket (cellsock.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <crtos/rtfifo.h>
#include "cellsock.h"
#include "cli.h"

void cmd_fifo_help(void)
{
	printf(
"Usage: crtos fifo create NAME [--size SIZE] [--cpu N]\n"
"       crtos fifo list [--cpu N]\n"
"       crtos fifo show NAME [--cpu N]\n"
"       crtos fifo rm NAME [--cpu N]\n"
"\n"
"RT-FIFOs are byte queues between real-time programs and Linux. A program in\n"
"the realm opens /dev/rtf/NAME with open(), read(), write() and poll(), without\n"
"ever waiting for Linux; a Linux process uses the same FIFO as the file\n"
"<runtime dir>/cell<CPU>/fifo/NAME (e.g. /run/crtos/cell1/fifo/NAME), which a\n"
"held cell (crtos cell --hold) serves, owned by its user, mode 0600. They\n"
"behave like pipes: reads wait for data (or say EAGAIN with O_NONBLOCK) and\n"
"read end of file once every writer has closed; writes of 4096 bytes or fewer\n"
"are whole; a full FIFO blocks its writer (or EAGAIN). Bytes flow one way\n"
"across the realms: all the writers of a FIFO are in one realm and all its\n"
"readers in one realm, and an open that breaks this fails with EBUSY.\n"
"A FIFO is created by its first open, by creating the file, or here.\n"
"\n"
"Commands:\n"
"  create NAME    create a FIFO (NAME: 1-31 of A-Z a-z 0-9 . _ -)\n"
"  list           every FIFO: size, bytes waiting, who reads and writes\n"
"  show NAME      one FIFO in detail, with the writes that found it full\n"
"  rm NAME        remove a FIFO nobody has open\n"
"\n"
"Options:\n"
"  --size SIZE    create: ring size, a power of two from 4K to 16M (default 64K)\n"
"  --cpu N        the cell on CPU N (default: the last CPU crtos may use)\n"
"  -h, --help     this text\n"
"\n"
"Exit status: 0 done; 1 the cell refused (the message says why); 64 bad usage;\n"
"69 no cell is held on that CPU.\n");
}

static int fifo_usage(const char *what, const char *arg)
{
	return cli_usage("fifo", what, arg);
}

static const char *side_name(uint32_t side)
{
	return side == CRTOS_FIFO_SIDE_RT ? "realm" : side == CRTOS_FIFO_SIDE_LINUX ? "linux" : "-";
}

static void fifo_print_row(const struct cell_fifo_info *f)
{
	printf("%-31s %9llu %9llu %-7s %-7s\n", f->name, (unsigned long long)f->size,
	       (unsigned long long)f->fill, side_name(f->writer_side), side_name(f->reader_side));
}

static void fifo_print_detail(const struct cell_fifo_info *f)
{
	printf("name:        %s\n", f->name);
	printf("size:        %llu bytes\n", (unsigned long long)f->size);
	printf("waiting:     %llu bytes (%.1f%% full)\n", (unsigned long long)f->fill,
	       100.0 * (double)f->fill / (double)f->size);
	printf("writers:     %s (realm %u, linux %u)%s\n", side_name(f->writer_side), f->rt_writers,
	       f->linux_writers, f->hup && f->writer_side == CRTOS_FIFO_SIDE_NONE ?
	       ", all closed: readers get end of file once empty" : "");
	printf("readers:     %s (realm %u, linux %u)\n", side_name(f->reader_side), f->rt_readers,
	       f->linux_readers);
	printf("found full:  %llu realm writes, %llu linux writes\n",
	       (unsigned long long)f->rt_full, (unsigned long long)f->linux_full);
}

struct fifo_show {
	const char *name;		/* show this one, or NULL: list every FIFO */
	int found;
};

static void fifo_print(const struct cellsock_msg *msg, void *ctx)
{
	struct fifo_show *sh = ctx;
	struct cell_fifo_info f = msg->fifo;

	f.name[sizeof(f.name) - 1] = '\0';
	if (!sh->name)
		fifo_print_row(&f);
	else if (!strcmp(sh->name, f.name) && ++sh->found)
		fifo_print_detail(&f);
}

/* Send one request to the cell on cpu, print its answer. The exit status. */
static int fifo_request(int cpu, struct cellsock_msg *req, const char *show)
{
	struct fifo_show sh = { .name = show };
	struct cellsock_msg msg;
	int ret;

	if (cpu < 0)
		cpu = vmm_host_pick_cpu(-1, NULL);
	if (req->op == CELLSOCK_FIFO_LIST && !show)
		printf("%-31s %9s %9s %-7s %-7s\n", "NAME", "SIZE", "WAITING", "WRITER", "READER");
	ret = cellsock_request("fifo", cpu, req, CELLSOCK_FIFO_INFO, CELLSOCK_FIFO_DONE, fifo_print,
			       &sh, &msg);
	if (ret)
		return ret;
	if (show && !sh.found) {
		fprintf(stderr, "crtos fifo: no FIFO called %s in the cell on CPU %d "
			"(crtos fifo list shows them)\n", show, cpu);
		return 1;
	}
	return 0;
}

int cmd_fifo(int argc, char **argv)
{
	struct cellsock_msg req = { 0 };
	const char *cmd, *name;
	int64_t size;
	long cpu;
	int opt;

	opt = cli_object_options("fifo", argc, argv, cmd_fifo_help, &size, &cpu);
	if (opt)
		return opt < 0 ? 0 : opt;
	if (size && (size < (int64_t)CRTOS_FIFO_MIN_SIZE || size > (int64_t)CRTOS_FIFO_MAX_SIZE ||
		     (size & (size - 1))))
		return fifo_usage("--size needs a power of two from 4K to 16M", NULL);
	opt = cli_object_words("fifo", "FIFO", argc, argv, &cmd, req.name, sizeof(req.name));
	if (opt)
		return opt;
	name = req.name[0] ? req.name : NULL;
	if (size && strcmp(cmd, "create"))
		return fifo_usage("--size is for create only", NULL);
	if (!strcmp(cmd, "create")) {
		req.op = CELLSOCK_FIFO_CREATE;
		req.size = (uint64_t)size;
	} else if (!strcmp(cmd, "rm")) {
		req.op = CELLSOCK_FIFO_REMOVE;
	} else if (!strcmp(cmd, "list") || !strcmp(cmd, "show")) {
		req.op = CELLSOCK_FIFO_LIST;
	} else {
		return fifo_usage("unknown command (create, list, show, rm):", cmd);
	}
	return fifo_request((int)cpu, &req, !strcmp(cmd, "show") ? name : NULL);
}
