/* SPDX-License-Identifier: GPL-3.0-or-later */
/* SOCKS5 (RFC 1928) with username/password authentication (RFC 1929), as
 * a layer over the TCP connection to the proxy: the handshake runs from
 * the first read or write, non-blocking, then bytes pass through. It reads
 * exactly the proxy's replies, never a byte of what the server sends
 * after, so TLS can start right behind it. */
#include "transport.h"

#include "limits.h"
#include "xmalloc.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <sodium.h>

enum socks5_step {
	SOCKS5_METHOD,  /* greeting sent, waiting for the chosen method */
	SOCKS5_AUTH,    /* credentials sent, waiting for their status */
	SOCKS5_CONNECT, /* CONNECT sent, waiting for the reply */
	SOCKS5_DONE,
	SOCKS5_FAILED,
};

struct socks5 {
	struct transport t;
	struct transport *lower;
	enum socks5_step step;
	/* What to send next; wiped (it holds the password at one point). */
	unsigned char out[600];
	size_t out_len, out_off;
	unsigned char in[IMAP_MAX_SOCKS5_REPLY];
	size_t in_len;
	unsigned char auth[1 + 1 + 255 + 1 + 255];
	size_t auth_len;
	unsigned char request[4 + 1 + 255 + 2];
	size_t request_len;
	char target[300];
};

static char socks5_create_error[512];

static const char *
socks5_reply_text(unsigned rep)
{
	static const char *const text[] = {
	    "succeeded",
	    "general SOCKS server failure",
	    "connection not allowed by ruleset",
	    "network unreachable",
	    "host unreachable",
	    "connection refused",
	    "TTL expired",
	    "command not supported",
	    "address type not supported",
	};

	return rep < sizeof(text) / sizeof(text[0]) ? text[rep]
	                                            : "unknown error";
}

int
transport_socks5_reply_len(const unsigned char *reply, size_t len,
                           size_t *need_r)
{
	if (len < 5) {
		*need_r = 5;
		return 0;
	}
	if (reply[0] != 5 || reply[2] != 0)
		return -1;
	switch (reply[3]) {
	case 1:
		*need_r = 4 + 4 + 2;
		break;
	case 4:
		*need_r = 4 + 16 + 2;
		break;
	case 3:
		*need_r = 4 + 1 + reply[4] + 2;
		break;
	default:
		return -1;
	}
	return len >= *need_r ? 1 : 0;
}

static void socks5_fail(struct socks5 *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
socks5_fail(struct socks5 *s, const char *fmt, ...)
{
	va_list ap;
	int n;

	n = snprintf(s->t.error, sizeof(s->t.error), "SOCKS5 proxy: ");
	va_start(ap, fmt);
	vsnprintf(s->t.error + n, sizeof(s->t.error) - n, fmt, ap);
	va_end(ap);
	s->step = SOCKS5_FAILED;
	sodium_memzero(s->out, sizeof(s->out));
	sodium_memzero(s->auth, sizeof(s->auth));
}

static void
socks5_send(struct socks5 *s, const unsigned char *data, size_t len)
{
	memcpy(s->out, data, len);
	s->out_len = len;
	s->out_off = 0;
	s->in_len = 0;
}

/* How many reply bytes the current step needs in total; 0 when the reply
 * is complete. -1 when it is malformed. */
static int
socks5_need(struct socks5 *s, size_t *need_r)
{
	size_t need;
	int r;

	if (s->step != SOCKS5_CONNECT) {
		*need_r = 2;
		return s->in_len >= 2 ? 1 : 0;
	}
	r = transport_socks5_reply_len(s->in, s->in_len, &need);
	*need_r = need;
	return r;
}

/* Act on a complete reply. */
static void
socks5_reply(struct socks5 *s)
{
	switch (s->step) {
	case SOCKS5_METHOD:
		if (s->in[0] != 5) {
			socks5_fail(s, "not a SOCKS5 proxy");
		} else if (s->in[1] == 0) {
			s->step = SOCKS5_CONNECT;
			socks5_send(s, s->request, s->request_len);
		} else if (s->in[1] == 2 && s->auth_len > 0) {
			s->step = SOCKS5_AUTH;
			socks5_send(s, s->auth, s->auth_len);
			sodium_memzero(s->auth, sizeof(s->auth));
		} else {
			socks5_fail(s, "no acceptable authentication method%s",
			            s->auth_len == 0
			                ? " (it may want a user:password)"
			                : "");
		}
		break;
	case SOCKS5_AUTH:
		sodium_memzero(s->out, sizeof(s->out));
		if (s->in[0] != 1 || s->in[1] != 0) {
			socks5_fail(s, "authentication failed (check the "
			               "user:password of proxy)");
		} else {
			s->step = SOCKS5_CONNECT;
			socks5_send(s, s->request, s->request_len);
		}
		break;
	case SOCKS5_CONNECT:
		if (s->in[1] != 0)
			socks5_fail(s, "cannot connect to %s: %s", s->target,
			            socks5_reply_text(s->in[1]));
		else
			s->step = SOCKS5_DONE;
		break;
	default:
		break;
	}
}

/* Run the handshake as far as it goes without blocking: 1 done, 0 would
 * block (errno EAGAIN), -1 failed. */
static int
socks5_progress(struct socks5 *s)
{
	size_t need;
	ssize_t n;
	int r;

	while (s->step != SOCKS5_DONE) {
		if (s->step == SOCKS5_FAILED) {
			errno = ECONNREFUSED;
			return -1;
		}
		if (s->out_off < s->out_len) {
			n = transport_write(s->lower, s->out + s->out_off,
			                    s->out_len - s->out_off);
			if (n < 0)
				goto io_error;
			s->out_off += n;
			continue;
		}
		r = socks5_need(s, &need);
		if (r < 0) {
			socks5_fail(s, "malformed reply");
			continue;
		}
		if (r > 0) {
			socks5_reply(s);
			continue;
		}
		n = transport_read(s->lower, s->in + s->in_len,
		                   need - s->in_len);
		if (n == 0) {
			socks5_fail(s, "closed the connection during the "
			               "handshake");
			continue;
		}
		if (n < 0)
			goto io_error;
		s->in_len += n;
	}
	return 1;
io_error:
	if (errno == EAGAIN || errno == EWOULDBLOCK)
		return 0;
	r = errno;
	snprintf(s->t.error, sizeof(s->t.error), "SOCKS5 proxy: %s",
	         transport_error(s->lower)[0] != '\0'
	             ? transport_error(s->lower)
	             : strerror(r));
	s->step = SOCKS5_FAILED;
	errno = r;
	return -1;
}

static void
socks5_sync(struct socks5 *s)
{
	s->t.wire_in = s->lower->wire_in;
	s->t.wire_out = s->lower->wire_out;
	if (s->t.error[0] == '\0' && transport_error(s->lower)[0] != '\0')
		snprintf(s->t.error, sizeof(s->t.error), "%s",
		         transport_error(s->lower));
}

/* Once the proxy has connected: read into in, or write out (the other
 * NULL), through the layer below. */
static ssize_t
socks5_io(struct socks5 *s, void *in, const void *out, size_t len)
{
	ssize_t n;
	int r = socks5_progress(s);

	if (r <= 0) {
		socks5_sync(s);
		if (r == 0)
			errno = EAGAIN;
		return -1;
	}
	n = out != NULL ? transport_write(s->lower, out, len)
	                : transport_read(s->lower, in, len);
	socks5_sync(s);
	return n;
}

static ssize_t
socks5_read(struct transport *t, void *data, size_t len)
{
	return socks5_io((struct socks5 *)t, data, NULL, len);
}

static ssize_t
socks5_write(struct transport *t, const void *data, size_t len)
{
	return socks5_io((struct socks5 *)t, NULL, data, len);
}

static int
socks5_flush(struct transport *t)
{
	return transport_flush(((struct socks5 *)t)->lower);
}

static short
socks5_events(struct transport *t, bool want_write)
{
	struct socks5 *s = (struct socks5 *)t;

	if (s->step == SOCKS5_DONE || s->step == SOCKS5_FAILED)
		return transport_events(s->lower, want_write);
	return transport_events(s->lower, s->out_off < s->out_len) | POLLIN;
}

static size_t
socks5_pending(struct transport *t)
{
	struct socks5 *s = (struct socks5 *)t;

	return s->step == SOCKS5_DONE ? transport_pending(s->lower) : 0;
}

static int
socks5_fd(struct transport *t)
{
	return transport_fd(((struct socks5 *)t)->lower);
}

static void
socks5_destroy(struct transport *t)
{
	struct socks5 *s = (struct socks5 *)t;

	transport_free(&s->lower);
	sodium_memzero(s, sizeof(*s));
	free(s);
}

static const struct transport_vfuncs socks5_vfuncs = {
    .read = socks5_read,
    .write = socks5_write,
    .flush = socks5_flush,
    .events = socks5_events,
    .pending = socks5_pending,
    .fd = socks5_fd,
    .destroy = socks5_destroy,
};

/* The CONNECT request for host:port: a domain name (remote_dns) or the
 * first address the name resolves to here. */
static int
socks5_request(struct socks5 *s, const char *host, const char *port,
               bool remote_dns, const char **error_r)
{
	struct addrinfo hints, *res;
	unsigned char *p = s->request;
	char *end;
	unsigned long pnum = strtoul(port, &end, 10);
	size_t hlen = strlen(host);
	int r;

	*error_r = socks5_create_error;
	if (*end != '\0' || pnum == 0 || pnum > 65535) {
		snprintf(socks5_create_error, sizeof(socks5_create_error),
		         "a SOCKS5 proxy needs a numeric port, not '%s'", port);
		return -1;
	}
	*p++ = 5;
	*p++ = 1; /* CONNECT */
	*p++ = 0;
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = remote_dns ? AI_NUMERICHOST : 0;
	r = getaddrinfo(host, NULL, &hints, &res);
	if (r == 0) {
		if (res->ai_family == AF_INET6) {
			*p++ = 4;
			memcpy(
			    p,
			    &((struct sockaddr_in6 *)res->ai_addr)->sin6_addr,
			    16);
			p += 16;
		} else {
			*p++ = 1;
			memcpy(p,
			       &((struct sockaddr_in *)res->ai_addr)->sin_addr,
			       4);
			p += 4;
		}
		freeaddrinfo(res);
	} else if (remote_dns && hlen <= 255) {
		*p++ = 3;
		*p++ = hlen;
		memcpy(p, host, hlen);
		p += hlen;
	} else {
		snprintf(socks5_create_error, sizeof(socks5_create_error),
		         "cannot resolve %s: %s", host,
		         remote_dns ? "name too long" : gai_strerror(r));
		return -1;
	}
	*p++ = pnum >> 8;
	*p++ = pnum & 0xff;
	s->request_len = p - s->request;
	return 0;
}

struct transport *
transport_socks5_create(struct transport *lower, const char *host,
                        const char *port, const char *user,
                        const char *password, bool remote_dns,
                        const char **error_r)
{
	struct socks5 *s = xcalloc(1, sizeof(*s));
	unsigned char greet[4] = {5, 1, 0, 0};
	size_t ulen, plen;

	s->t.v = &socks5_vfuncs;
	snprintf(s->target, sizeof(s->target), "%s port %s", host, port);
	if (socks5_request(s, host, port, remote_dns, error_r) < 0) {
		free(s);
		return NULL;
	}
	if (user != NULL) {
		ulen = strlen(user);
		plen = password != NULL ? strlen(password) : 0;
		if (ulen == 0 || ulen > 255 || plen > 255) {
			free(s);
			*error_r = "the SOCKS5 user name and password must be "
			           "1 to 255 bytes";
			return NULL;
		}
		s->auth[0] = 1;
		s->auth[1] = ulen;
		memcpy(s->auth + 2, user, ulen);
		s->auth[2 + ulen] = plen;
		memcpy(s->auth + 3 + ulen, password, plen);
		s->auth_len = 3 + ulen + plen;
		greet[1] = 2;
		greet[3] = 2;
	}
	socks5_send(s, greet, greet[1] + 2);
	s->step = SOCKS5_METHOD;
	s->lower = lower;
	return &s->t;
}

/* Copy [s, s+len) to out (size bytes) decoding %XX; -1 if it does not
 * fit or an escape is malformed. */
static int
socks5_unescape(const char *s, size_t len, char *out, size_t size)
{
	size_t i, n = 0;
	unsigned v;

	for (i = 0; i < len; i++) {
		if (n + 1 >= size)
			return -1;
		if (s[i] != '%') {
			out[n++] = s[i];
			continue;
		}
		if (i + 2 >= len || !isxdigit((unsigned char)s[i + 1]) ||
		    !isxdigit((unsigned char)s[i + 2]) ||
		    sscanf(s + i + 1, "%2x", &v) != 1 || v == 0)
			return -1;
		out[n++] = v;
		i += 2;
	}
	out[n] = '\0';
	return 0;
}

int
transport_socks5_parse_url(const char *url, struct transport_socks5_url *u,
                           const char **error_r)
{
	const char *p, *at, *colon, *hend, *end;
	size_t len;

	memset(u, 0, sizeof(*u));
	*error_r = "invalid proxy: expected "
	           "socks5://[user[:password]@]host[:port] or socks5h://...";
	if (strncmp(url, "socks5://", 9) == 0) {
		p = url + 9;
	} else if (strncmp(url, "socks5h://", 10) == 0) {
		p = url + 10;
		u->remote_dns = true;
	} else {
		return -1;
	}
	end = p + strlen(p);
	if (end > p && end[-1] == '/')
		end--;
	at = memchr(p, '@', end - p);
	if (at != NULL) {
		colon = memchr(p, ':', at - p);
		if (socks5_unescape(p, (colon != NULL ? colon : at) - p,
		                    u->user, sizeof(u->user)) < 0 ||
		    u->user[0] == '\0')
			return -1;
		if (colon != NULL &&
		    socks5_unescape(colon + 1, at - colon - 1, u->password,
		                    sizeof(u->password)) < 0)
			return -1;
		u->has_user = true;
		p = at + 1;
	}
	if (*p == '[') {
		hend = memchr(p, ']', end - p);
		if (hend == NULL)
			return -1;
		hend++;
		colon = hend < end && *hend == ':' ? hend : NULL;
		if (hend < end && colon == NULL)
			return -1;
	} else {
		colon = memchr(p, ':', end - p);
		hend = colon != NULL ? colon : end;
	}
	len = hend - p;
	if (len == 0 || len >= sizeof(u->host))
		return -1;
	memcpy(u->host, p, len);
	u->host[len] = '\0';
	if (colon != NULL) {
		len = end - colon - 1;
		if (len == 0 || len >= sizeof(u->port) ||
		    strspn(colon + 1, "0123456789") < len)
			return -1;
		memcpy(u->port, colon + 1, len);
		u->port[len] = '\0';
	} else {
		strcpy(u->port, "1080");
	}
	return 0;
}
