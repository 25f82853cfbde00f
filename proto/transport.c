/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "transport.h"

ssize_t
transport_read(struct transport *t, void *data, size_t len)
{
	return t->v->read(t, data, len);
}

ssize_t
transport_write(struct transport *t, const void *data, size_t len)
{
	return t->v->write(t, data, len);
}

int
transport_flush(struct transport *t)
{
	return t->v->flush != NULL ? t->v->flush(t) : 0;
}

short
transport_events(struct transport *t, bool want_write)
{
	return t->v->events(t, want_write);
}

size_t
transport_pending(struct transport *t)
{
	return t->v->pending != NULL ? t->v->pending(t) : 0;
}

int
transport_fd(struct transport *t)
{
	return t->v->fd(t);
}

const char *
transport_error(struct transport *t)
{
	return t->error;
}

void
transport_free(struct transport **tp)
{
	struct transport *t = *tp;

	if (t == NULL)
		return;
	*tp = NULL;
	t->v->destroy(t);
}
