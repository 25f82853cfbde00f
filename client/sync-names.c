/* SPDX-License-Identifier: GPL-3.0-or-later */
/* A mailbox's names: the database's (levels joined by NUL), each
 * server's on the wire (its delimiter, its list-reference), and the one
 * messages and the command line show (UTF-8, the local delimiter). */
#include "sync.h"

#include "buf.h"
#include "log.h"
#include "mutf7.h"
#include "xmalloc.h"

#include <stdlib.h>
#include <string.h>

bool
sync_name_fits(const struct sync_server *srv, const char *name, size_t len)
{
	if (srv->delim == '\0')
		return memchr(name, '\0', len) == NULL;
	return memchr(name, srv->delim, len) == NULL;
}

char *
sync_wire_name(const struct sync_server *srv, const char *name, size_t len)
{
	size_t rlen = strlen(srv->reference), i;
	char *s;

	/* Never a name the server would read as another hierarchy. */
	if (!sync_name_fits(srv, name, len))
		return NULL;
	s = xmalloc(rlen + len + 1);
	memcpy(s, srv->reference, rlen);
	for (i = 0; i < len; i++) {
		s[rlen + i] = name[i] == '\0' ? srv->delim : name[i];
	}
	s[rlen + len] = '\0';
	return s;
}

char *
sync_utf8_name(const char *wire)
{
	size_t len = strlen(wire);
	struct buf *b = buf_create(4 * len + 16);
	const char *error;
	char *s;

	/* Not modified UTF-7 (a server that sends UTF-8, or bytes of its
	 * own): shown as it is, log_escape() makes it inert. */
	if (mutf7_decode(wire, len, b, &error) < 0)
		s = xstrdup(wire);
	else
		s = xstrndup(buf_data(b), buf_len(b));
	buf_free(&b);
	return s;
}

char *
sync_display_name(const struct sync_run *run, const char *name, size_t len)
{
	char d = run->server[SIDE_LOCAL].delim;
	char *s = xmalloc(len + 1), *u;
	size_t i;

	for (i = 0; i < len; i++)
		s[i] = name[i] == '\0' ? (d != '\0' ? d : '/') : name[i];
	s[len] = '\0';
	u = sync_utf8_name(s);
	free(s);
	return u;
}

char *
sync_arg_quoted(const struct sync_run *run, const char *name, size_t len)
{
	char d = run->server[SIDE_LOCAL].delim;
	char *u = sync_display_name(run, name, len), *s;
	size_t i;

	for (i = 0; u[i] != '\0'; i++) {
		if ((unsigned char)u[i] >= 0x80)
			break;
	}
	if (u[i] == '\0') {
		/* ASCII: the command line reads it as modified UTF-7,
		 * where "&" is written "&-". */
		free(u);
		u = xmalloc(len + 1);
		for (i = 0; i < len; i++)
			u[i] =
			    name[i] == '\0' ? (d != '\0' ? d : '/') : name[i];
		u[len] = '\0';
	}
	s = log_shell_quote(u);
	free(u);
	return s;
}
