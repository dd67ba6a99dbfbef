// SPDX-License-Identifier: MIT
/*
 * A program that never ends by itself: "busy" starts threads that wait in
 * every way a thread can (a condition variable, a sleep loop, a read from
 * stdin) and one that spins, prints "running", and waits for a signal. The
 * tests kill it, or its shadow, and check what is left behind.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t never = PTHREAD_COND_INITIALIZER;

static void *waiter(void *arg)
{
	pthread_mutex_lock(&lock);
	for (;;)
		pthread_cond_wait(&never, &lock);
	return arg;
}

static void *sleeper(void *arg)
{
	struct timespec ms = { 0, 1000000 };

	for (;;)
		nanosleep(&ms, NULL);
	return arg;
}

static void *reader(void *arg)
{
	char c;

	while (read(0, &c, 1) > 0)
		;
	return arg;
}

static void *spinner(void *arg)
{
	volatile unsigned long n = 0;

	for (;;)
		n++;
	return arg;
}

int main(void)
{
	void *(*const fns[])(void *) = { waiter, sleeper, reader };
	pthread_t t;

	for (int i = 0; i < 3; i++)
		for (unsigned int f = 0; f < sizeof(fns) / sizeof(fns[0]); f++)
			if (pthread_create(&t, NULL, fns[f], NULL))
				return 1;
	if (pthread_create(&t, NULL, spinner, NULL))
		return 1;
	puts("running");
	fflush(stdout);
	for (;;)
		pause();
}
