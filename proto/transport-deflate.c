/* SPDX-License-Identifier: GPL-3.0-or-later */
/* COMPRESS=DEFLATE (RFC 4978) over any transport: raw deflate both ways,
 * each burst of output ended by a sync flush when the connection flushes,
 * so the server sees whole commands without waiting for more.
 *
 * Compressed input waits in a capped buffer; the caller's read size bounds
 * what one inflate call may produce, so a small hostile input costs no
 * more memory than a large honest one. */
#include "transport.h"

#include "limits.h"
#include "xmalloc.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

struct deflate_layer {
	struct transport t;
	struct transport *lower;
	z_stream in, out;
	unsigned char ibuf[IMAP_DEFLATE_BUF];
	size_t ibuf_off, ibuf_len;
	unsigned char obuf[IMAP_DEFLATE_BUF];
	size_t obuf_off, obuf_len;
	bool in_stalled; /* inflate needs more than ibuf holds */
	bool in_more;    /* inflate filled the caller's buffer: may hold more */
	bool in_eof, out_dirty;
};

static char deflate_create_error[256];

static void
deflate_sync(struct deflate_layer *d)
{
	d->t.wire_in = d->lower->wire_in;
	d->t.wire_out = d->lower->wire_out;
	if (d->t.error[0] == '\0' && transport_error(d->lower)[0] != '\0')
		snprintf(d->t.error, sizeof(d->t.error), "%s",
		         transport_error(d->lower));
}

static ssize_t
deflate_read(struct transport *t, void *data, size_t len)
{
	struct deflate_layer *d = (struct deflate_layer *)t;
	ssize_t n;
	size_t produced;
	int r;

	for (;;) {
		if ((d->ibuf_len > 0 && !d->in_stalled) || d->in_more) {
			d->in.next_in = d->ibuf + d->ibuf_off;
			d->in.avail_in = d->ibuf_len;
			d->in.next_out = data;
			d->in.avail_out = len > UINT32_MAX ? UINT32_MAX : len;
			r = inflate(&d->in, Z_SYNC_FLUSH);
			if (r != Z_OK && r != Z_BUF_ERROR) {
				snprintf(t->error, sizeof(t->error),
				         "COMPRESS: invalid compressed data "
				         "from the server (%s)",
				         d->in.msg != NULL ? d->in.msg
				                           : "zlib");
				errno = EPROTO;
				return -1;
			}
			produced = (unsigned char *)d->in.next_out -
			           (unsigned char *)data;
			d->ibuf_off += d->ibuf_len - d->in.avail_in;
			d->ibuf_len = d->in.avail_in;
			if (d->ibuf_len == 0)
				d->ibuf_off = 0;
			d->in_more = d->in.avail_out == 0;
			if (produced > 0)
				return produced;
			/* Nothing came out: the rest of a block is needed. */
			d->in_stalled = true;
		}
		if (d->in_eof)
			return 0;
		if (d->ibuf_off > 0) {
			memmove(d->ibuf, d->ibuf + d->ibuf_off, d->ibuf_len);
			d->ibuf_off = 0;
		}
		if (d->ibuf_len == sizeof(d->ibuf)) {
			snprintf(t->error, sizeof(t->error),
			         "COMPRESS: a compressed block passes %d "
			         "bytes",
			         IMAP_DEFLATE_BUF);
			errno = EPROTO;
			return -1;
		}
		n = transport_read(d->lower, d->ibuf + d->ibuf_len,
		                   sizeof(d->ibuf) - d->ibuf_len);
		deflate_sync(d);
		if (n < 0)
			return -1;
		if (n == 0) {
			d->in_eof = true;
			if (d->ibuf_len == 0)
				return 0;
			continue;
		}
		d->ibuf_len += n;
		d->in_stalled = false;
	}
}

/* Write what obuf holds: 0 when empty, -1 with errno (EAGAIN too). */
static int
deflate_drain(struct deflate_layer *d)
{
	ssize_t n;

	while (d->obuf_len > 0) {
		n = transport_write(d->lower, d->obuf + d->obuf_off,
		                    d->obuf_len);
		deflate_sync(d);
		if (n < 0)
			return -1;
		d->obuf_off += n;
		d->obuf_len -= n;
	}
	d->obuf_off = 0;
	return 0;
}

/* Run deflate over input (may be empty) with flush into the free part of
 * obuf; returns input bytes consumed. */
static size_t
deflate_into_obuf(struct deflate_layer *d, const void *data, size_t len,
                  int flush, int *zret_r)
{
	size_t start = d->obuf_off + d->obuf_len;

	if (start > 0 && d->obuf_len == 0) {
		d->obuf_off = 0;
		start = 0;
	}
	d->out.next_in = (unsigned char *)data;
	d->out.avail_in = len > UINT32_MAX ? UINT32_MAX : len;
	d->out.next_out = d->obuf + start;
	d->out.avail_out = sizeof(d->obuf) - start;
	*zret_r = deflate(&d->out, flush);
	d->obuf_len += sizeof(d->obuf) - start - d->out.avail_out;
	return len - d->out.avail_in;
}

static ssize_t
deflate_write(struct transport *t, const void *data, size_t len)
{
	struct deflate_layer *d = (struct deflate_layer *)t;
	size_t done;
	int zr;

	if (d->obuf_len > 0 && deflate_drain(d) < 0 &&
	    (errno != EAGAIN || d->obuf_off + d->obuf_len == sizeof(d->obuf)))
		return -1;
	done = deflate_into_obuf(d, data, len, Z_NO_FLUSH, &zr);
	if (zr == Z_STREAM_ERROR) {
		snprintf(t->error, sizeof(t->error), "COMPRESS: zlib error");
		errno = EPROTO;
		return -1;
	}
	if (done == 0) {
		errno = EAGAIN;
		return -1;
	}
	d->out_dirty = true;
	return done;
}

static int
deflate_flush(struct transport *t)
{
	struct deflate_layer *d = (struct deflate_layer *)t;
	int zr;

	for (;;) {
		if (deflate_drain(d) < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK ? 1 : -1;
		if (!d->out_dirty)
			break;
		deflate_into_obuf(d, NULL, 0, Z_SYNC_FLUSH, &zr);
		/* Done when deflate had room to spare. */
		if (d->out.avail_out > 0)
			d->out_dirty = false;
	}
	return transport_flush(d->lower);
}

static short
deflate_events(struct transport *t, bool want_write)
{
	struct deflate_layer *d = (struct deflate_layer *)t;

	return transport_events(d->lower, want_write || d->obuf_len > 0) |
	       POLLIN;
}

static size_t
deflate_pending(struct transport *t)
{
	struct deflate_layer *d = (struct deflate_layer *)t;

	if ((d->ibuf_len > 0 && !d->in_stalled) || d->in_more)
		return d->ibuf_len > 0 ? d->ibuf_len : 1;
	return transport_pending(d->lower);
}

static int
deflate_fd(struct transport *t)
{
	return transport_fd(((struct deflate_layer *)t)->lower);
}

static void
deflate_destroy(struct transport *t)
{
	struct deflate_layer *d = (struct deflate_layer *)t;

	inflateEnd(&d->in);
	deflateEnd(&d->out);
	transport_free(&d->lower);
	free(d);
}

static const struct transport_vfuncs deflate_vfuncs = {
    .read = deflate_read,
    .write = deflate_write,
    .flush = deflate_flush,
    .events = deflate_events,
    .pending = deflate_pending,
    .fd = deflate_fd,
    .destroy = deflate_destroy,
};

struct transport *
transport_deflate_create(struct transport *lower, const char **error_r)
{
	struct deflate_layer *d = xcalloc(1, sizeof(*d));

	*error_r = deflate_create_error;
	/* RFC 4978: raw deflate; the window as large as the server may
	 * use. */
	if (inflateInit2(&d->in, -15) != Z_OK) {
		free(d);
		snprintf(deflate_create_error, sizeof(deflate_create_error),
		         "COMPRESS: cannot start zlib");
		return NULL;
	}
	if (deflateInit2(&d->out, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -15, 8,
	                 Z_DEFAULT_STRATEGY) != Z_OK) {
		inflateEnd(&d->in);
		free(d);
		snprintf(deflate_create_error, sizeof(deflate_create_error),
		         "COMPRESS: cannot start zlib");
		return NULL;
	}
	d->t.v = &deflate_vfuncs;
	d->lower = lower;
	d->t.wire_in = lower->wire_in;
	d->t.wire_out = lower->wire_out;
	return &d->t;
}
