/* SPDX-License-Identifier: GPL-3.0-or-later */
/* rusage: run a command and write its peak RSS and CPU time to a file.
 *
 *   rusage FILE COMMAND [ARG...]
 *
 * Writes "MAXRSS_KIB USER_S SYS_S OWN_HWM_KIB" to FILE and exits with the
 * command's status. The first three cover the command and what it waited
 * for (its tunnel relays too); OWN_HWM_KIB is the command's own process
 * alone: its VmHWM read at its exit, where ptrace (PTRACE_O_TRACEEXIT)
 * stops it before its memory goes, or -1 when it cannot be traced.
 * bench/run needs it because a child forked from the Python harness
 * starts with the harness's own resident pages, and Linux keeps that peak
 * across exec: forked from this small program instead, the command's
 * peak is its own. SIGTERM and
 * SIGINT are passed on to the command. */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile pid_t child = -1;

/* VmHWM of a process still alive (stopped at its exit), in KiB, or -1. */
static long
own_hwm(pid_t pid)
{
	char path[64], line[256];
	long kib = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
	f = fopen(path, "r");
	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, "VmHWM:", 6) == 0) {
			kib = strtol(line + 6, NULL, 10);
			break;
		}
	}
	fclose(f);
	return kib;
}

static void
pass_on(int sig)
{
	if (child > 0)
		kill(child, sig);
}

int
main(int argc, char **argv)
{
	struct rusage ru;
	long hwm = -1;
	bool traced;
	int status, sync[2];
	char c = 0;
	FILE *f;
	pid_t pid;

	if (argc < 3) {
		fprintf(stderr, "usage: rusage FILE COMMAND [ARG...]\n");
		return 2;
	}
	if (pipe(sync) < 0) {
		perror("rusage: pipe");
		return 111;
	}
	pid = fork();
	if (pid < 0) {
		perror("rusage: fork");
		return 111;
	}
	if (pid == 0) {
		/* Wait until the parent has seized us (or given up). */
		close(sync[1]);
		if (read(sync[0], &c, 1) < 0)
			_exit(111);
		close(sync[0]);
		execvp(argv[2], argv + 2);
		fprintf(stderr, "rusage: %s: %s\n", argv[2], strerror(errno));
		_exit(127);
	}
	child = pid;
	close(sync[0]);
	traced = ptrace(PTRACE_SEIZE, pid, NULL,
	                (void *)(long)PTRACE_O_TRACEEXIT) == 0;
	if (write(sync[1], &c, 1) < 0)
		perror("rusage: write");
	close(sync[1]);
	signal(SIGTERM, pass_on);
	signal(SIGINT, pass_on);
	for (;;) {
		if (wait4(pid, &status, 0, &ru) < 0) {
			if (errno == EINTR)
				continue;
			perror("rusage: wait4");
			return 111;
		}
		if (WIFEXITED(status) || WIFSIGNALED(status))
			break;
		if (!traced || !WIFSTOPPED(status))
			continue;
		if (status >> 8 == (SIGTRAP | (PTRACE_EVENT_EXIT << 8))) {
			hwm = own_hwm(pid);
			ptrace(PTRACE_CONT, pid, NULL, NULL);
		} else if (status >> 16 != 0) {
			/* Another event stop (a group stop): carry on. */
			ptrace(PTRACE_CONT, pid, NULL, NULL);
		} else {
			/* A signal for the command: deliver it. */
			ptrace(PTRACE_CONT, pid, NULL,
			       (void *)(long)WSTOPSIG(status));
		}
	}
	f = fopen(argv[1], "w");
	if (f == NULL ||
	    fprintf(f, "%ld %ld.%06ld %ld.%06ld %ld\n", ru.ru_maxrss,
	            (long)ru.ru_utime.tv_sec, (long)ru.ru_utime.tv_usec,
	            (long)ru.ru_stime.tv_sec, (long)ru.ru_stime.tv_usec,
	            hwm) < 0 ||
	    fclose(f) != 0) {
		perror("rusage: write");
		return 111;
	}
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}
