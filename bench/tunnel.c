/* SPDX-License-Identifier: GPL-3.0-or-later */
/* tunnel: the benchmark's wrapper around an IMAP tunnel command.
 *
 *   tunnel [-d RTT_MS] [-o FILE] COMMAND [ARG...]
 *
 * Runs COMMAND with its stdin and stdout on pipes and relays bytes between
 * them and our own stdin/stdout (what the synchronizer under test sees),
 * counting them each way. With -d every byte is held RTT_MS/2 in each
 * direction, in order, without either direction ever waiting for the
 * other: a WAN link on loopback. With -o, one line
 *   "pid PID sent N recv N"
 * is appended to FILE at exit (PID is COMMAND's, sent is what our stdin
 * gave, recv what COMMAND wrote), so every tool is measured on the wire
 * the same way, whatever it reports itself.
 *
 * COMMAND is started through a short-lived intermediate process, so it is
 * not our child: when the caller is a child subreaper (bench/run), the
 * server's resource usage goes to the caller, not into the peak RSS and
 * CPU time of the synchronizer that started us. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Bytes read per chunk, and the most held in one direction before we
 * stop reading from that side (back-pressure, not a bandwidth limit:
 * 4 MiB in flight for 25 ms is 160 MB/s). Small, because our peak RSS is
 * charged to the synchronizer we serve: a tool that stops reading must
 * not make us look like its memory. */
#define TUNNEL_CHUNK (64 * 1024)
#define TUNNEL_QUEUE_MAX (4 * 1024 * 1024)

struct chunk {
	struct chunk *next;
	uint64_t due_ns;
	size_t len, off;
	bool eof;
	char data[];
};

struct direction {
	int in, out;
	bool in_open, out_open;
	struct chunk *head, *tail;
	size_t queued;
	unsigned long long bytes;
};

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void
set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl >= 0)
		fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

static void
die(const char *what)
{
	fprintf(stderr, "tunnel: %s: %s\n", what, strerror(errno));
	exit(111);
}

static void
enqueue(struct direction *d, const char *data, size_t len, uint64_t due)
{
	struct chunk *c = malloc(sizeof(*c) + len);

	if (c == NULL)
		die("malloc");
	c->next = NULL;
	c->due_ns = due;
	c->len = len;
	c->off = 0;
	c->eof = len == 0;
	memcpy(c->data, data, len);
	if (d->tail != NULL)
		d->tail->next = c;
	else
		d->head = c;
	d->tail = c;
	d->queued += len;
}

static void
drop_head(struct direction *d)
{
	struct chunk *c = d->head;

	d->head = c->next;
	if (d->head == NULL)
		d->tail = NULL;
	d->queued -= c->len;
	free(c);
}

/* Write what is due. Returns true when the output wants POLLOUT. */
static bool
flush_due(struct direction *d, uint64_t now)
{
	while (d->head != NULL && d->head->due_ns <= now) {
		struct chunk *c = d->head;
		ssize_t n;

		if (c->eof) {
			if (d->out_open)
				close(d->out);
			d->out_open = false;
			drop_head(d);
			continue;
		}
		if (!d->out_open) {
			drop_head(d);
			continue;
		}
		n = write(d->out, c->data + c->off, c->len - c->off);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return true;
			close(d->out);
			d->out_open = false;
			continue;
		}
		c->off += (size_t)n;
		if (c->off < c->len)
			return true;
		drop_head(d);
	}
	return false;
}

static void
read_some(struct direction *d, uint64_t due)
{
	static char buf[TUNNEL_CHUNK];
	ssize_t n = read(d->in, buf, sizeof(buf));

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		close(d->in);
		d->in_open = false;
		enqueue(d, NULL, 0, due);
		return;
	}
	d->bytes += (unsigned long long)n;
	enqueue(d, buf, (size_t)n, due);
}

/* Start argv with pipes on its stdin/stdout, as a grandchild that the
 * intermediate process leaves behind. Returns its pid. */
static pid_t
start_server(char **argv, int *to_r, int *from_r)
{
	int in[2], out[2], pp[2], status;
	pid_t mid, pid = -1;

	if (pipe(in) < 0 || pipe(out) < 0 || pipe(pp) < 0)
		die("pipe");
	mid = fork();
	if (mid < 0)
		die("fork");
	if (mid == 0) {
		pid_t srv = fork();

		if (srv == 0) {
			dup2(in[0], 0);
			dup2(out[1], 1);
			close(in[0]);
			close(in[1]);
			close(out[0]);
			close(out[1]);
			close(pp[0]);
			close(pp[1]);
			execvp(argv[0], argv);
			fprintf(stderr, "tunnel: %s: %s\n", argv[0],
			        strerror(errno));
			_exit(127);
		}
		if (write(pp[1], &srv, sizeof(srv)) != sizeof(srv))
			_exit(1);
		_exit(0);
	}
	close(in[0]);
	close(out[1]);
	close(pp[1]);
	if (read(pp[0], &pid, sizeof(pid)) != sizeof(pid) || pid < 0) {
		errno = ECHILD;
		die("start");
	}
	close(pp[0]);
	while (waitpid(mid, &status, 0) < 0 && errno == EINTR)
		;
	*to_r = in[1];
	*from_r = out[0];
	return pid;
}

static void
write_counts(const char *path, pid_t pid, const struct direction *d)
{
	char line[128];
	int fd, len;

	if (path == NULL)
		return;
	len = snprintf(line, sizeof(line), "pid %ld sent %llu recv %llu\n",
	               (long)pid, d[0].bytes, d[1].bytes);
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, line, (size_t)len) != len)
		fprintf(stderr, "tunnel: %s: %s\n", path, strerror(errno));
	if (fd >= 0)
		close(fd);
}

int
main(int argc, char **argv)
{
	struct direction d[2];
	const char *counts = NULL;
	uint64_t half = 0;
	pid_t pid;
	int opt, i;

	while ((opt = getopt(argc, argv, "+d:o:")) != -1) {
		switch (opt) {
		case 'd':
			half = (uint64_t)(strtod(optarg, NULL) * 500000.0);
			break;
		case 'o':
			counts = optarg;
			break;
		default:
			goto usage;
		}
	}
	if (optind >= argc)
		goto usage;

	memset(d, 0, sizeof(d));
	pid = start_server(argv + optind, &d[0].out, &d[1].in);
	signal(SIGPIPE, SIG_IGN);
	d[0].in = 0;
	d[1].out = 1;
	for (i = 0; i < 2; i++) {
		d[i].in_open = d[i].out_open = true;
		set_nonblock(d[i].in);
		set_nonblock(d[i].out);
	}

	/* Done once the server's end of stream reached the client, or the
	 * client is gone. */
	while (d[1].out_open) {
		struct pollfd pfd[4];
		struct timespec ts, *tsp = NULL;
		uint64_t now = now_ns(), next = UINT64_MAX;
		int n = 0;

		for (i = 0; i < 2; i++) {
			bool want_out = flush_due(&d[i], now);

			if (want_out && d[i].out_open)
				pfd[n++] =
				    (struct pollfd){d[i].out, POLLOUT, 0};
			else if (d[i].head != NULL && d[i].head->due_ns < next)
				next = d[i].head->due_ns;
			if (d[i].in_open && d[i].queued < TUNNEL_QUEUE_MAX)
				pfd[n++] = (struct pollfd){d[i].in, POLLIN, 0};
		}
		if (!d[1].out_open)
			break;
		if (next != UINT64_MAX) {
			uint64_t wait = next > now ? next - now : 0;

			ts.tv_sec = (time_t)(wait / 1000000000u);
			ts.tv_nsec = (long)(wait % 1000000000u);
			tsp = &ts;
		}
		if (n == 0 && tsp == NULL)
			break;
		if (ppoll(pfd, (nfds_t)n, tsp, NULL) < 0) {
			if (errno == EINTR)
				continue;
			die("poll");
		}
		now = now_ns();
		for (i = 0; i < n; i++) {
			if ((pfd[i].revents & (POLLIN | POLLHUP | POLLERR)) ==
			    0)
				continue;
			if (pfd[i].events != POLLIN)
				continue;
			if (pfd[i].fd == d[0].in && d[0].in_open)
				read_some(&d[0], now + half);
			else if (pfd[i].fd == d[1].in && d[1].in_open)
				read_some(&d[1], now + half);
		}
	}
	write_counts(counts, pid, d);
	return 0;

usage:
	fprintf(stderr,
	        "usage: tunnel [-d RTT_MS] [-o FILE] COMMAND [ARG...]\n");
	return 2;
}
