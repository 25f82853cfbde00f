/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The tunnel transport: a command whose stdin and stdout are one end of a
 * socketpair (ssh, doveadm exec imap, openssl s_client, ...).
 *
 * A command goes through /bin/sh -c when it contains any of
 *   | & ; < > ( ) $ ` \ " ' * ? [ ] # ~ = % ! { } tab newline
 * (quoting, redirection, variables, globbing, "VAR=x cmd", comments, job
 * and history characters); otherwise it is split on spaces and run with
 * execvp(), so its exec failure is reported at once instead of as a shell
 * exit status 127.
 *
 * The command's stderr goes to an anonymous file (memfd) rather than a
 * pipe, so a chatty command can never block on it while we wait for its
 * stdout. Each read copies what it added to our stderr (unless
 * null_stderr) and keeps the last line, which the error message quotes
 * when the command ends: "exited with status 255: ssh: connect to host
 * ... Connection refused" says what "exited with status 255" does not. */
#include "limits.h"
#include "transport.h"
#include "xmalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* How long destroy waits for the command to exit once its socket is
 * closed, before SIGTERM, and again before SIGKILL. */
#define TUNNEL_EXIT_GRACE_MS 2000
#define TUNNEL_TERM_GRACE_MS 1000
/* At end of stream the command is normally exiting: wait this long for
 * it, so its exit status can explain the end. */
#define TUNNEL_EOF_REAP_MS 500

/* How much of each of the command's last stderr lines an error message
 * quotes, and how many lines: ssh names a bad config line in one and says
 * what is wrong with it in the next. */
#define TUNNEL_STDERR_LINE 160
#define TUNNEL_STDERR_LINES 3

#define TUNNEL_SHELL_CHARS "|&;<>()$`\\\"'*?[]#~=%!{}\t\n"

struct tunnel {
	struct transport t;
	int fd;
	pid_t pid; /* -1 once reaped */
	/* The command's stderr: a memfd (-1 if none), how far it is read,
	 * whether to copy it to ours, its last complete lines (a ring:
	 * err_count lines were ever kept) and the line being read. */
	int err_fd;
	off_t err_off;
	bool err_copy;
	char err_last[TUNNEL_STDERR_LINES][TUNNEL_STDERR_LINE];
	unsigned err_count;
	char err_cur[TUNNEL_STDERR_LINE];
	size_t err_cur_len;
	/* What tunnel_stderr_last() returns. */
	char err_joined[TUNNEL_STDERR_LINES * (TUNNEL_STDERR_LINE + 3)];
};

static char tunnel_create_error[512];

static void
sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static void
tunnel_stderr_line(struct tunnel *tu, const char *data, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		char c = data[i];

		if (c == '\n') {
			if (tu->err_cur_len > 0) {
				char *last = tu->err_last[tu->err_count++ %
				                          TUNNEL_STDERR_LINES];

				memcpy(last, tu->err_cur, tu->err_cur_len);
				last[tu->err_cur_len] = '\0';
			}
			tu->err_cur_len = 0;
		} else if (c == '\r' ||
		           (tu->err_cur_len == 0 && (c == ' ' || c == '\t'))) {
			continue;
		} else if (tu->err_cur_len < sizeof(tu->err_cur) - 1) {
			/* Control bytes from a peer must not reach a
			 * terminal through our messages. */
			tu->err_cur[tu->err_cur_len++] =
			    (unsigned char)c < 0x20 || c == 0x7f ? '?' : c;
		}
	}
}

/* Take in what the command wrote to stderr since the last call. */
static void
tunnel_stderr_pump(struct tunnel *tu)
{
	char buf[4096];
	struct stat st;
	ssize_t n;

	if (tu->err_fd < 0 || fstat(tu->err_fd, &st) < 0 ||
	    st.st_size <= tu->err_off)
		return;
	while ((n = pread(tu->err_fd, buf, sizeof(buf), tu->err_off)) > 0) {
		tu->err_off += n;
		tunnel_stderr_line(tu, buf, n);
		if (tu->err_copy) {
			ssize_t w, done = 0;

			while (done < n) {
				w = write(STDERR_FILENO, buf + done, n - done);
				if (w < 0 && errno == EINTR)
					continue;
				if (w <= 0)
					break;
				done += w;
			}
		}
	}
	/* Bytes written between the last read and this truncation are
	 * lost: a bounded file is worth a rare missing message line. */
	if (tu->err_off >= IMAP_TUNNEL_STDERR_KEEP &&
	    ftruncate(tu->err_fd, 0) == 0)
		tu->err_off = 0;
}

/* The command's last few stderr lines, joined by " / ", or "". */
static const char *
tunnel_stderr_last(struct tunnel *tu)
{
	unsigned n, i;
	size_t len = 0;

	tunnel_stderr_pump(tu);
	tu->err_joined[0] = '\0';
	n = tu->err_count < TUNNEL_STDERR_LINES ? tu->err_count
	                                        : TUNNEL_STDERR_LINES;
	/* A line being written counts as the last one. */
	if (tu->err_cur_len > 0 && n == TUNNEL_STDERR_LINES)
		n--;
	for (i = tu->err_count - n; i != tu->err_count; i++) {
		snprintf(tu->err_joined + len, sizeof(tu->err_joined) - len,
		         "%s%s", len > 0 ? " / " : "",
		         tu->err_last[i % TUNNEL_STDERR_LINES]);
		len = strlen(tu->err_joined);
	}
	if (tu->err_cur_len > 0) {
		tu->err_cur[tu->err_cur_len] = '\0';
		snprintf(tu->err_joined + len, sizeof(tu->err_joined) - len,
		         "%s%s", len > 0 ? " / " : "", tu->err_cur);
	}
	return tu->err_joined;
}

static void
tunnel_describe_status(struct tunnel *tu, int status)
{
	const char *line = tunnel_stderr_last(tu);
	const char *sep = line[0] != '\0' ? ": " : "";

	if (WIFEXITED(status)) {
		if (WEXITSTATUS(status) == 127)
			snprintf(tu->t.error, sizeof(tu->t.error),
			         "command exited with status 127 "
			         "(command not found?)%s%s",
			         sep, line);
		else if (WEXITSTATUS(status) == 255 && line[0] == '\0')
			/* What ssh's client of a ControlMaster reports for a
			 * connection lost, without a word on stderr. */
			snprintf(tu->t.error, sizeof(tu->t.error),
			         "command exited with status 255 (for ssh: "
			         "the connection failed or was lost)");
		else
			snprintf(tu->t.error, sizeof(tu->t.error),
			         "command exited with status %d%s%s",
			         WEXITSTATUS(status), sep, line);
	} else if (WIFSIGNALED(status)) {
		snprintf(tu->t.error, sizeof(tu->t.error),
		         "command killed by signal %d%s%s", WTERMSIG(status),
		         sep, line);
	}
}

/* Reap the command if it exits within ms milliseconds (0: only if it has
 * already); true once reaped. */
static bool
tunnel_reap(struct tunnel *tu, long ms)
{
	int status;
	pid_t r;

	if (tu->pid < 0)
		return true;
	for (;;) {
		r = waitpid(tu->pid, &status, WNOHANG);
		if (r < 0 && errno == EINTR)
			continue;
		if (r == tu->pid) {
			tu->pid = -1;
			tunnel_describe_status(tu, status);
			return true;
		}
		if (r < 0) {
			/* Not our child any more (reaped by someone else). */
			tu->pid = -1;
			return true;
		}
		if (ms <= 0)
			return false;
		sleep_ms(ms < 5 ? ms : 5);
		ms -= 5;
	}
}

static ssize_t
tunnel_read(struct transport *t, void *data, size_t len)
{
	struct tunnel *tu = (struct tunnel *)t;
	ssize_t n;

	do {
		n = read(tu->fd, data, len);
	} while (n < 0 && errno == EINTR);
	/* A command that exits without reading all we sent resets the
	 * socket: that is its end of stream too. */
	if (n < 0 && errno == ECONNRESET)
		n = 0;
	if (n > 0) {
		t->wire_in += n;
		tunnel_stderr_pump(tu);
	} else if (n == 0) {
		/* A command still running after closing its output has
		 * maybe said why on stderr. */
		if (!tunnel_reap(tu, TUNNEL_EOF_REAP_MS) &&
		    tunnel_stderr_last(tu)[0] != '\0')
			snprintf(t->error, sizeof(t->error), "%s",
			         tunnel_stderr_last(tu));
	} else if (errno != EAGAIN && errno != EWOULDBLOCK) {
		int err = errno;

		snprintf(t->error, sizeof(t->error), "read: %s", strerror(err));
		errno = err;
	}
	return n;
}

static ssize_t
tunnel_write(struct transport *t, const void *data, size_t len)
{
	struct tunnel *tu = (struct tunnel *)t;
	ssize_t n;

	do {
		n = send(tu->fd, data, len, MSG_NOSIGNAL | MSG_DONTWAIT);
	} while (n < 0 && errno == EINTR);
	if (n > 0) {
		t->wire_out += n;
	} else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
		int err = errno;

		/* The command may have died: its status says more than
		 * EPIPE does. */
		if (!tunnel_reap(tu, err == EPIPE ? TUNNEL_EOF_REAP_MS : 0) ||
		    t->error[0] == '\0')
			snprintf(t->error, sizeof(t->error), "write: %s",
			         strerror(err));
		errno = err;
	}
	return n;
}

static short
tunnel_events(struct transport *t, bool want_write)
{
	return POLLIN | (want_write ? POLLOUT : 0);
}

static int
tunnel_fd(struct transport *t)
{
	return ((struct tunnel *)t)->fd;
}

static void
tunnel_destroy(struct transport *t)
{
	struct tunnel *tu = (struct tunnel *)t;

	if (tu->fd >= 0) {
		shutdown(tu->fd, SHUT_RDWR);
		close(tu->fd);
	}
	if (tu->pid > 0 && !tunnel_reap(tu, TUNNEL_EXIT_GRACE_MS)) {
		kill(tu->pid, SIGTERM);
		if (!tunnel_reap(tu, TUNNEL_TERM_GRACE_MS)) {
			int status;

			kill(tu->pid, SIGKILL);
			while (waitpid(tu->pid, &status, 0) < 0 &&
			       errno == EINTR)
				;
		}
	}
	if (tu->err_fd >= 0) {
		tunnel_stderr_pump(tu);
		close(tu->err_fd);
	}
	free(tu);
}

static const struct transport_vfuncs tunnel_vfuncs = {
    .read = tunnel_read,
    .write = tunnel_write,
    .flush = NULL,
    .events = tunnel_events,
    .pending = NULL,
    .fd = tunnel_fd,
    .destroy = tunnel_destroy,
};

/* argv for the command: sh -c, or its words; *words_r is what to free
 * (NULL for the shell form). */
static char **
tunnel_argv(const char *command, char **words_r)
{
	size_t n = 0, i, len = strlen(command);
	char **argv, *p;

	*words_r = NULL;
	if (strpbrk(command, TUNNEL_SHELL_CHARS) != NULL) {
		argv = xcalloc(4, sizeof(*argv));
		argv[0] = (char *)"/bin/sh";
		argv[1] = (char *)"-c";
		argv[2] = (char *)command;
		return argv;
	}
	p = xstrdup(command);
	argv = xcalloc(len / 2 + 2, sizeof(*argv));
	for (i = 0; i < len; i++) {
		if (p[i] == ' ') {
			p[i] = '\0';
		} else if (i == 0 || p[i - 1] == '\0') {
			argv[n++] = p + i;
		}
	}
	*words_r = p;
	return argv;
}

/* Move fd above the standard descriptors so dup2() onto 0-2 in the child
 * cannot clobber it. */
static int
tunnel_fd_above_stdio(int fd)
{
	int nfd;

	if (fd > 2)
		return fd;
	nfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	close(fd);
	return nfd;
}

static void __attribute__((noreturn))
tunnel_child(int sock, int errfd, char **argv, int stderr_fd, bool null_stderr)
{
	struct sigaction sa;
	sigset_t all;
	int err, devnull;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	sigaction(SIGPIPE, &sa, NULL);
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	if (dup2(sock, 0) < 0 || dup2(sock, 1) < 0)
		goto fail;
	if (stderr_fd >= 0) {
		if (dup2(stderr_fd, 2) < 0)
			goto fail;
	} else if (null_stderr) {
		devnull = open("/dev/null", O_WRONLY);
		if (devnull < 0 || dup2(devnull, 2) < 0)
			goto fail;
		if (devnull > 2)
			close(devnull);
	}
	close(sock);
	execvp(argv[0], argv);
fail:
	err = errno;
	while (write(errfd, &err, sizeof(err)) < 0 && errno == EINTR)
		;
	_exit(127);
}

static struct transport *
tunnel_fail(const char *command, const char *what, int err,
            const char **error_r)
{
	snprintf(tunnel_create_error, sizeof(tunnel_create_error),
	         "cannot run '%s': %s%s", command, what, strerror(err));
	*error_r = tunnel_create_error;
	return NULL;
}

struct transport *
transport_tunnel_create(const char *command, bool null_stderr,
                        const char **error_r)
{
	struct tunnel *tu;
	int sv[2] = {-1, -1}, errp[2] = {-1, -1}, child_err, status;
	int err_fd = -1;
	const char *what = "";
	char **argv, *words = NULL;
	ssize_t n;
	pid_t pid = -1;

	tu = xcalloc(1, sizeof(*tu));
	argv = tunnel_argv(command, &words);
	if (argv[0] == NULL) {
		free(tu);
		free(argv);
		snprintf(tunnel_create_error, sizeof(tunnel_create_error),
		         "empty tunnel command");
		*error_r = tunnel_create_error;
		return NULL;
	}
	what = "socketpair: ";
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0 ||
	    fcntl(sv[0], F_SETFL, O_NONBLOCK) < 0)
		goto fail_errno;
	what = "pipe: ";
	if (pipe2(errp, O_CLOEXEC) < 0)
		goto fail_errno;
	/* Without a memfd (old kernel), stderr is inherited or dropped as
	 * before, only the messages say less. */
	err_fd = memfd_create("imapsync-tunnel-stderr", MFD_CLOEXEC);
	if (err_fd >= 0 && (fcntl(err_fd, F_SETFL, O_APPEND) < 0 ||
	                    (err_fd = tunnel_fd_above_stdio(err_fd)) < 0)) {
		if (err_fd >= 0)
			close(err_fd);
		err_fd = -1;
	}
	sv[1] = tunnel_fd_above_stdio(sv[1]);
	errp[1] = tunnel_fd_above_stdio(errp[1]);
	if (sv[1] < 0 || errp[1] < 0)
		goto fail_errno;
	what = "fork: ";
	pid = fork();
	if (pid == 0)
		tunnel_child(sv[1], errp[1], argv, err_fd, null_stderr);
	if (pid < 0)
		goto fail_errno;
	close(sv[1]);
	close(errp[1]);
	sv[1] = errp[1] = -1;
	do {
		n = read(errp[0], &child_err, sizeof(child_err));
	} while (n < 0 && errno == EINTR);
	if (n == sizeof(child_err)) {
		what = "";
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		goto fail;
	}
	close(errp[0]);
	free(argv);
	free(words);
	tu->t.v = &tunnel_vfuncs;
	tu->fd = sv[0];
	tu->pid = pid;
	tu->err_fd = err_fd;
	tu->err_copy = !null_stderr;
	return &tu->t;

fail_errno:
	child_err = errno;
fail:
	if (err_fd >= 0)
		close(err_fd);
	for (int i = 0; i < 2; i++) {
		if (sv[i] >= 0)
			close(sv[i]);
		if (errp[i] >= 0)
			close(errp[i]);
	}
	free(tu);
	free(argv);
	free(words);
	return tunnel_fail(command, what, child_err, error_r);
}
