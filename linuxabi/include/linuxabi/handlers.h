/* SPDX-License-Identifier: MIT */
/* Prototypes of the system-call handlers listed in handlers.def. */
#ifndef LINUXABI_HANDLERS_H
#define LINUXABI_HANDLERS_H

#include <kernel/types.h>

#define HANDLER(name) long sys_##name(const uint64_t *a);
#include <linuxabi/handlers.def>
#undef HANDLER

#endif
