/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Byte streams to an IMAP server. A transport is a small vtable so layers
 * stack: tunnel or TCP at the bottom, TLS and COMPRESS=DEFLATE above. All
 * transports are non-blocking; the connection polls transport_fd() for
 * transport_events(). */
#ifndef PROTO_TRANSPORT_H
#define PROTO_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct transport;

struct transport_vfuncs {
	/* >0 bytes read; 0 end of stream; -1 with errno EAGAIN when it
	 * would block, any other errno on failure (see error). */
	ssize_t (*read)(struct transport *t, void *data, size_t len);
	/* >0 bytes written; -1 with errno EAGAIN when it would block. */
	ssize_t (*write)(struct transport *t, const void *data, size_t len);
	/* Flush what a layer holds (compression); 0 done, 1 call again
	 * when writable, -1 error. NULL: nothing to flush. */
	int (*flush)(struct transport *t);
	/* poll(2) events that let it progress, given whether the caller
	 * has bytes to write (TLS may need POLLOUT to read). */
	short (*events)(struct transport *t, bool want_write);
	/* Bytes already decoded inside the layer, readable without polling. */
	size_t (*pending)(struct transport *t);
	int (*fd)(struct transport *t);
	/* Release everything; for a tunnel, reap the child. */
	void (*destroy)(struct transport *t);
};

struct transport {
	const struct transport_vfuncs *v;
	/* What failed, for messages: "ssh: exited with status 255". */
	char error[512];
	/* Bytes that crossed the socket (below every layer). */
	uint64_t wire_in, wire_out;
};

/* Start command with a socketpair as its stdin and stdout: directly with
 * execvp() when the command is plain words, through /bin/sh -c when it has
 * shell metacharacters. Its stderr is copied to ours unless null_stderr;
 * either way its last line ends up in t->error when the command exits
 * ("command exited with status 255: ssh: ..."). Returns NULL with *error_r (static or thread-local text)
 * on failure to start; a command that starts and exits shows as end of
 * stream, with the exit status in t->error. */
struct transport *transport_tunnel_create(const char *command,
					  bool null_stderr,
					  const char **error_r);

/* A TCP connection to host (a name, an address, or "[IPv6 literal]") and
 * port (a number or service name). The name is resolved here (blocking);
 * the connect runs non-blocking from the first read or write, trying each
 * address in turn; its failure shows as a read or write error with
 * t->error "cannot connect to HOST port PORT: ...". SO_KEEPALIVE when
 * keepalive. NULL with *error_r (thread-local text) when the name does not
 * resolve. */
struct transport *transport_tcp_connect(const char *host, const char *port,
					bool keepalive, const char **error_r);
/* Whether t is a TCP transport whose connect has not completed. */
bool transport_tcp_connecting(struct transport *t);
/* host without the brackets of an "[IPv6 literal]" into out; -1 if empty
 * or too long. */
int transport_tcp_host(const char *host, char *out, size_t size);

/* A proxy setting: socks5://[user[:password]@]host[:port] (the server's
 * name resolved here) or socks5h://... (resolved by the proxy). */
struct transport_socks5_url {
	char host[256], port[8];
	char user[256], password[256]; /* %XX decoded; wipe after use */
	bool has_user, remote_dns;
};
int transport_socks5_parse_url(const char *url, struct transport_socks5_url *u,
			       const char **error_r);
/* A SOCKS5 CONNECT to host:port (numeric port) through the proxy reached
 * by lower, with RFC 1929 credentials when user is not NULL. On success it
 * owns lower; NULL with *error_r (lower untouched) on a bad argument. */
struct transport *transport_socks5_create(struct transport *lower,
					  const char *host, const char *port,
					  const char *user,
					  const char *password,
					  bool remote_dns,
					  const char **error_r);
/* Of a CONNECT reply's first len bytes: 1 complete (*need_r its length),
 * 0 need *need_r bytes in all, -1 malformed. */
int transport_socks5_reply_len(const unsigned char *reply, size_t len,
			       size_t *need_r);

struct transport_tls_settings {
	const char *host;       /* checked against the certificate */
	const char *sni;        /* server name sent; NULL or "": none */
	bool verify;            /* chain and host name (SSL_verify) */
	const char *cafile, *capath; /* NULL: the system's CAs */
	const char *protocol_min, *protocol_max; /* "TLSv1.2"; NULL */
	const char *protocols;  /* interimap's deprecated SSL_protocols */
	const char *cipherlist, *ciphersuites;
	/* "[algo$]hex ..." SPKI digests (sha256 by default): a match is
	 * accepted whatever the chain; no match is refused. NULL: none. */
	const char *fingerprints;
};
/* TLS over lower, handshake from the first read or write; a certificate
 * refused fails that read with t->error naming the host, the reason and
 * the key's sha256 SPKI fingerprint. On success it owns lower; NULL with
 * *error_r (lower untouched) on a bad setting. */
struct transport *transport_tls_create(struct transport *lower,
				       const struct transport_tls_settings *set,
				       const char **error_r);
struct x509_st;
/* "algo$hex" of cert's SubjectPublicKeyInfo into out; -1 on an unknown
 * algorithm or a short buffer. */
int transport_tls_spki_digest(struct x509_st *cert, const char *algo,
			      char *out, size_t size);
/* 1 if one "[algo$]hex" of list matches cert's SPKI, else 0. */
int transport_tls_fingerprint_match(struct x509_st *cert, const char *list);

/* COMPRESS=DEFLATE (RFC 4978) over lower, which it owns on success; NULL
 * with *error_r when zlib cannot start. */
struct transport *transport_deflate_create(struct transport *lower,
					   const char **error_r);

ssize_t transport_read(struct transport *t, void *data, size_t len);
ssize_t transport_write(struct transport *t, const void *data, size_t len);
int transport_flush(struct transport *t);
short transport_events(struct transport *t, bool want_write);
size_t transport_pending(struct transport *t);
int transport_fd(struct transport *t);
/* A one-line reason for the last failure or end of stream ("" if none). */
const char *transport_error(struct transport *t);
void transport_free(struct transport **t);

#endif
