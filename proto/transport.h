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
	char error[256];
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
