// SPDX-License-Identifier: MIT
/*
 * crtos shm: create, list, show and remove the RT shared-memory regions of
 * a held cell (crtos cell --hold), through its socket (cellsock.h). The
 * regions themselves: vmm.h, "RT shared-memory regions".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cellsock.h"
#include "cli.h"

void cmd_shm_help(void)
{
	printf(
"Usage: crtos shm create NAME --size SIZE [--cpu N]\n"
"       crtos shm list [--cpu N]\n"
"       crtos shm show NAME [--cpu N]\n"
"       crtos shm rm NAME [--cpu N]\n"
"\n"
"RT shared memory: a region of bytes that real-time programs and Linux\n"
"processes map at once, never copied. A program in the realm opens\n"
"/dev/rtshm/NAME and maps it with mmap(MAP_SHARED); a Linux process maps the\n"
"file /dev/shm/crtos-cell<CPU>-NAME (shm_open(\"crtos-cell<CPU>-NAME\"), or\n"
"python's mmap of that file). Loads and stores on it are plain memory\n"
"accesses in both realms: the RT side makes no call to Linux to use it. The\n"
"region belongs to the user who started the cell, mode 0600; its size is\n"
"fixed at creation (do not truncate the file), and it goes when the cell\n"
"ends or here. Programs that have it mapped keep their pages after rm.\n"
"\n"
"Commands:\n"
"  create NAME    create a region (NAME: 1-31 of A-Z a-z 0-9 . _ -)\n"
"  list           every region: size, and how many mappings the realm has\n"
"  show NAME      one region in detail, with the file Linux processes map\n"
"  rm NAME        remove a region\n"
"\n"
"Options:\n"
"  --size SIZE    create: bytes, a multiple of 4K up to 1G (K, M, G suffixes)\n"
"  --cpu N        the cell on CPU N (default: the last CPU crtos may use)\n"
"  -h, --help     this text\n"
"\n"
"Exit status: 0 done; 1 the cell refused (the message says why); 64 bad usage;\n"
"69 no cell is held on that CPU.\n");
}

static int shm_usage(const char *what, const char *arg)
{
	return cli_usage("shm", what, arg);
}

struct shm_show {
	const char *name;		/* show this one, or NULL: list every region */
	int found;
};

static void shm_print(const struct cellsock_msg *msg, void *ctx)
{
	struct shm_show *sh = ctx;
	struct cell_shm_region_info r = msg->region;

	r.name[sizeof(r.name) - 1] = r.path[sizeof(r.path) - 1] = '\0';
	if (!sh->name) {
		printf("%-31s %12llu %8u\n", r.name, (unsigned long long)r.size, r.slots);
	} else if (!strcmp(sh->name, r.name) && ++sh->found) {
		printf("name:        %s\n", r.name);
		printf("size:        %llu bytes\n", (unsigned long long)r.size);
		printf("linux file:  %s (uid %u, mode %04o)\n", r.path, r.uid, r.mode);
		printf("in the realm: /dev/rtshm/%s, mapped by %u shared slot%s now\n", r.name,
		       r.slots, r.slots == 1 ? "" : "s");
	}
}

/* Send one request to the cell on cpu, print its answer. The exit status. */
static int shm_request(int cpu, struct cellsock_msg *req, const char *show)
{
	struct shm_show sh = { .name = show };
	struct cellsock_msg msg;
	int ret;

	if (cpu < 0)
		cpu = vmm_host_pick_cpu(-1, NULL);
	if (req->op == CELLSOCK_REGION_LIST && !show)
		printf("%-31s %12s %8s\n", "NAME", "SIZE", "MAPPINGS");
	ret = cellsock_request("shm", cpu, req, CELLSOCK_REGION_INFO, CELLSOCK_REGION_DONE, shm_print,
			       &sh, &msg);
	if (ret)
		return ret;
	if (show && !sh.found) {
		fprintf(stderr, "crtos shm: no region called %s in the cell on CPU %d "
			"(crtos shm list shows them)\n", show, cpu);
		return 1;
	}
	return 0;
}

int cmd_shm(int argc, char **argv)
{
	struct cellsock_msg req = { 0 };
	const char *cmd, *name;
	int64_t size;
	long cpu;
	int opt;

	opt = cli_object_options("shm", argc, argv, cmd_shm_help, &size, &cpu);
	if (opt)
		return opt < 0 ? 0 : opt;
	if (size % 4096 || size > (int64_t)CELL_SHM_REGION_MAX_SIZE)
		return shm_usage("--size needs a multiple of 4K up to 1G", NULL);
	opt = cli_object_words("shm", "region", argc, argv, &cmd, req.name, sizeof(req.name));
	if (opt)
		return opt;
	name = req.name[0] ? req.name : NULL;
	if (!strcmp(cmd, "create") != !!size)
		return shm_usage(size ? "--size is for create only" : "create needs --size", NULL);
	if (!strcmp(cmd, "create")) {
		req.op = CELLSOCK_REGION_CREATE;
		req.size = (uint64_t)size;
	} else if (!strcmp(cmd, "rm") || !strcmp(cmd, "remove")) {
		req.op = CELLSOCK_REGION_REMOVE;
	} else if (!strcmp(cmd, "list") || !strcmp(cmd, "show")) {
		req.op = CELLSOCK_REGION_LIST;
	} else {
		return shm_usage("unknown command (create, list, show, rm):", cmd);
	}
	return shm_request((int)cpu, &req, !strcmp(cmd, "show") ? name : NULL);
}
