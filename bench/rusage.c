/* rusage: run a command and write its peak RSS and CPU time to a file.
 *
 *   rusage FILE COMMAND [ARG...]
 *
 * Writes "MAXRSS_KIB USER_S SYS_S" (the command and what it waited for)
 * to FILE and exits with the command's status. bench/run needs it because
 * a child forked from the Python harness starts with the harness's own
 * resident pages, and Linux keeps that peak across exec: forked from this
 * small program instead, the command's peak is its own. SIGTERM and
 * SIGINT are passed on to the command. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile pid_t child = -1;

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
	FILE *f;
	int status;
	pid_t pid;

	if (argc < 3) {
		fprintf(stderr, "usage: rusage FILE COMMAND [ARG...]\n");
		return 2;
	}
	pid = fork();
	if (pid < 0) {
		perror("rusage: fork");
		return 111;
	}
	if (pid == 0) {
		execvp(argv[2], argv + 2);
		fprintf(stderr, "rusage: %s: %s\n", argv[2], strerror(errno));
		_exit(127);
	}
	child = pid;
	signal(SIGTERM, pass_on);
	signal(SIGINT, pass_on);
	while (wait4(pid, &status, 0, &ru) < 0) {
		if (errno != EINTR) {
			perror("rusage: wait4");
			return 111;
		}
	}
	f = fopen(argv[1], "w");
	if (f == NULL ||
	    fprintf(f, "%ld %ld.%06ld %ld.%06ld\n", ru.ru_maxrss,
	            (long)ru.ru_utime.tv_sec, (long)ru.ru_utime.tv_usec,
	            (long)ru.ru_stime.tv_sec, (long)ru.ru_stime.tv_usec) < 0 ||
	    fclose(f) != 0) {
		perror("rusage: write");
		return 111;
	}
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}
