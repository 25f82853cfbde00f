/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The TCP transport: a non-blocking connect to each address of the host in
 * turn (IPv6 and IPv4 as getaddrinfo orders them), driven by the
 * connection's poll loop, so two servers are reached at the same time.
 * Until the connect completes, reads and writes return EAGAIN and the
 * transport waits for POLLOUT; a refused address moves on to the next. */
#include "transport.h"
#include "xmalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct tcp {
	struct transport t;
	int fd;
	bool connected, keepalive;
	struct addrinfo *ai_list, *ai; /* ai: the address being tried */
	char host[256], port[32];
	int last_err;
};

static char tcp_create_error[512];

/* Start connecting to tc->ai or the next address that accepts a socket;
 * 0 when a connect is under way (or done), -1 when none is left. */
static int
tcp_start(struct tcp *tc)
{
	int fd, one = 1;

	for (; tc->ai != NULL; tc->ai = tc->ai->ai_next) {
		fd = socket(tc->ai->ai_family,
		            tc->ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
		            tc->ai->ai_protocol);
		if (fd < 0) {
			tc->last_err = errno;
			continue;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (tc->keepalive)
			setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one,
			           sizeof(one));
		if (connect(fd, tc->ai->ai_addr, tc->ai->ai_addrlen) == 0) {
			tc->fd = fd;
			tc->connected = true;
			return 0;
		}
		if (errno == EINPROGRESS) {
			tc->fd = fd;
			return 0;
		}
		tc->last_err = errno;
		close(fd);
	}
	return -1;
}

static void
tcp_set_failed(struct tcp *tc)
{
	snprintf(tc->t.error, sizeof(tc->t.error),
	         "cannot connect to %.100s port %.16s: %s", tc->host, tc->port,
	         strerror(tc->last_err != 0 ? tc->last_err : ECONNREFUSED));
}

/* Progress of the connect: 1 connected, 0 in progress, -1 failed (errno
 * and t->error set). */
static int
tcp_check_connect(struct tcp *tc)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (tc->connected)
		return 1;
	if (tc->fd >= 0) {
		struct pollfd pfd = {tc->fd, POLLOUT, 0};

		if (poll(&pfd, 1, 0) == 0)
			return 0;
		if (getsockopt(tc->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
			err = errno;
		if (err == 0) {
			tc->connected = true;
			freeaddrinfo(tc->ai_list);
			tc->ai_list = tc->ai = NULL;
			return 1;
		}
		tc->last_err = err;
		close(tc->fd);
		tc->fd = -1;
		tc->ai = tc->ai->ai_next;
	}
	if (tcp_start(tc) == 0)
		return tc->connected ? 1 : 0;
	tcp_set_failed(tc);
	errno = tc->last_err != 0 ? tc->last_err : ECONNREFUSED;
	return -1;
}

/* One recv() into in, or send() of out (the other NULL), once
 * connected: counted on the wire, and an error worth keeping (not
 * EAGAIN) said with the host. */
static ssize_t
tcp_io(struct tcp *tc, void *in, const void *out, size_t len)
{
	struct transport *t = &tc->t;
	ssize_t n;
	int r;

	if ((r = tcp_check_connect(tc)) <= 0) {
		if (r == 0)
			errno = EAGAIN;
		return -1;
	}
	do {
		n = out != NULL
		        ? send(tc->fd, out, len, MSG_NOSIGNAL | MSG_DONTWAIT)
		        : recv(tc->fd, in, len, 0);
	} while (n < 0 && errno == EINTR);
	if (n > 0) {
		*(out != NULL ? &t->wire_out : &t->wire_in) += n;
	} else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
		int err = errno;

		snprintf(t->error, sizeof(t->error), "%s %.100s: %s",
		         out != NULL ? "write to" : "read from", tc->host,
		         strerror(err));
		errno = err;
	}
	return n;
}

static ssize_t
tcp_read(struct transport *t, void *data, size_t len)
{
	return tcp_io((struct tcp *)t, data, NULL, len);
}

static ssize_t
tcp_write(struct transport *t, const void *data, size_t len)
{
	return tcp_io((struct tcp *)t, NULL, data, len);
}

static short
tcp_events(struct transport *t, bool want_write)
{
	struct tcp *tc = (struct tcp *)t;

	if (!tc->connected)
		return POLLOUT;
	return POLLIN | (want_write ? POLLOUT : 0);
}

static int
tcp_fd(struct transport *t)
{
	return ((struct tcp *)t)->fd;
}

static void
tcp_destroy(struct transport *t)
{
	struct tcp *tc = (struct tcp *)t;

	if (tc->fd >= 0)
		close(tc->fd);
	if (tc->ai_list != NULL)
		freeaddrinfo(tc->ai_list);
	free(tc);
}

static const struct transport_vfuncs tcp_vfuncs = {
    .read = tcp_read,
    .write = tcp_write,
    .flush = NULL,
    .events = tcp_events,
    .pending = NULL,
    .fd = tcp_fd,
    .destroy = tcp_destroy,
};

int
transport_tcp_host(const char *host, char *out, size_t size)
{
	size_t len = strlen(host);

	if (len >= 2 && host[0] == '[' && host[len - 1] == ']') {
		host++;
		len -= 2;
	}
	if (len == 0 || len >= size)
		return -1;
	memcpy(out, host, len);
	out[len] = '\0';
	return 0;
}

struct transport *
transport_tcp_connect(const char *host, const char *port, bool keepalive,
                      const char **error_r)
{
	struct addrinfo hints, *res;
	struct tcp *tc;
	char name[256];
	int r;

	*error_r = tcp_create_error;
	if (transport_tcp_host(host, name, sizeof(name)) < 0) {
		snprintf(tcp_create_error, sizeof(tcp_create_error),
		         "invalid host name '%s'", host);
		return NULL;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_ADDRCONFIG;
	r = getaddrinfo(name, port, &hints, &res);
	if (r != 0) {
		snprintf(tcp_create_error, sizeof(tcp_create_error),
		         "cannot resolve %s port %s: %s", name, port,
		         r == EAI_SYSTEM ? strerror(errno) : gai_strerror(r));
		return NULL;
	}
	tc = xcalloc(1, sizeof(*tc));
	tc->t.v = &tcp_vfuncs;
	tc->fd = -1;
	tc->keepalive = keepalive;
	tc->ai_list = tc->ai = res;
	snprintf(tc->host, sizeof(tc->host), "%s", name);
	snprintf(tc->port, sizeof(tc->port), "%s", port);
	if (tcp_start(tc) < 0) {
		tcp_set_failed(tc);
		snprintf(tcp_create_error, sizeof(tcp_create_error), "%s",
		         tc->t.error);
		tcp_destroy(&tc->t);
		return NULL;
	}
	if (tc->connected) {
		freeaddrinfo(tc->ai_list);
		tc->ai_list = tc->ai = NULL;
	}
	return &tc->t;
}

bool
transport_tcp_connecting(struct transport *t)
{
	return t->v == &tcp_vfuncs && !((struct tcp *)t)->connected;
}
