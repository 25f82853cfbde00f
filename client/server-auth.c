/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Logging in: the first mechanism of the side's `auth` list the server
 * can take. PLAIN and SCRAM-SHA-256 go through AUTHENTICATE (with the
 * initial response on the command line when the server has SASL-IR);
 * LOGIN is the LOGIN command, as in interimap, unless LOGINDISABLED.
 * Credentials are sent as %P or secret continuation lines, so traces show
 * them only at --debug twice. */
#include "server-private.h"

#include "config.h"
#include "imap-conn.h"
#include "imap-decode.h"
#include "sasl.h"
#include "xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

void
server_auth_clear(struct server_login *l)
{
	sasl_free_secret(l->password);
	l->password = NULL;
	free(l->user);
	l->user = NULL;
	sasl_scram_free(&l->scram);
}

static void
auth_continue_b64(struct imap_cmd *cmd, const char *text)
{
	char *b64 = sasl_base64_encode(text, strlen(text));

	imap_cmd_continue(cmd, b64, strlen(b64), true);
	sasl_free_secret(b64);
}

/* Cancel the exchange ("*"): the server answers BAD, and the login fails
 * with l->sasl_error. */
static int
auth_cancel(struct server_login *l, struct imap_cmd *cmd, const char *why)
{
	snprintf(l->sasl_error, sizeof(l->sasl_error), "%s", why);
	imap_cmd_continue(cmd, "*", 1, false);
	return 0;
}

static int
auth_continuation(struct imap_conn *c, struct imap_cmd *cmd,
                  const struct imap_response *resp, void *ctx)
{
	struct server_login *l = ctx;
	const char *text = resp->text != NULL ? resp->text : "";
	const char *error;
	char *challenge = NULL, *answer;
	size_t len = 0;
	int r;

	(void)c;
	if (strcmp(l->mech, "PLAIN") == 0) {
		if (l->sasl_step++ > 0)
			return auth_cancel(l, cmd, "unexpected challenge");
		answer = sasl_plain(NULL, l->user, l->password);
		imap_cmd_continue(cmd, answer, strlen(answer), true);
		sasl_free_secret(answer);
		return 0;
	}
	/* SCRAM-SHA-256 */
	if (l->sasl_step == 0) {
		l->sasl_step++;
		answer = sasl_scram_client_first(l->scram);
		auth_continue_b64(cmd, answer);
		free(answer);
		return 0;
	}
	if (sasl_base64_decode(text, strlen(text), &challenge, &len) < 0)
		return auth_cancel(l, cmd, "invalid SCRAM challenge");
	if (l->sasl_step == 1) {
		l->sasl_step++;
		answer =
		    sasl_scram_client_final(l->scram, challenge, len, &error);
		sasl_free_secret(challenge);
		if (answer == NULL)
			return auth_cancel(l, cmd, error);
		auth_continue_b64(cmd, answer);
		sasl_free_secret(answer);
		return 0;
	}
	r = sasl_scram_server_final(l->scram, challenge, len, &error);
	sasl_free_secret(challenge);
	l->sasl_step++;
	if (r < 0)
		return auth_cancel(l, cmd, error);
	imap_cmd_continue(cmd, "", 0, false);
	return 0;
}

/* The mechanism of the auth list to use, or NULL. */
static const char *
auth_choose(const char *list, uint64_t caps)
{
	static const struct {
		const char *name;
		uint64_t cap;
	} mechs[] = {
	    {"PLAIN", IMAP_CAP_AUTH_PLAIN},
	    {"SCRAM-SHA-256", IMAP_CAP_AUTH_SCRAM_SHA_256},
	    {"LOGIN", 0},
	};
	const char *p = list;
	size_t len, i;

	while (*p != '\0') {
		len = strcspn(p, " ");
		for (i = 0; i < sizeof(mechs) / sizeof(mechs[0]); i++) {
			if (strlen(mechs[i].name) != len ||
			    strncasecmp(mechs[i].name, p, len) != 0)
				continue;
			if (mechs[i].cap == 0
			        ? (caps & IMAP_CAP_LOGINDISABLED) == 0
			        : (caps & mechs[i].cap) != 0)
				return mechs[i].name;
		}
		p += len;
		p += strspn(p, " ");
	}
	return NULL;
}

/* The text of a failure with no login to keep it (HACKING.md, "Error
 * text"). */
static char server_auth_error[512];

int
server_auth_start(struct server_login *l, const char **error_r)
{
	const struct config_side *cs = l->cs;
	uint64_t caps = imap_conn_caps(l->conn);
	struct imap_cmd *cmd;
	bool ir = (caps & IMAP_CAP_SASL_IR) != 0;
	char *b64 = NULL, *first;

	if (cs->username == NULL) {
		*error_r = "the server wants a login: set username (and "
		           "password or password-command)";
		return -1;
	}
	l->mech = auth_choose(cs->auth, caps);
	if (l->mech == NULL) {
		snprintf(server_auth_error, sizeof(server_auth_error),
		         "none of the mechanisms in auth (%s) is offered by "
		         "the server%s",
		         cs->auth,
		         (caps & IMAP_CAP_LOGINDISABLED) != 0
		             ? " (it refuses LOGIN: LOGINDISABLED)"
		             : "");
		*error_r = server_auth_error;
		return -1;
	}
	if (server_auth_password(cs, &l->password, error_r) < 0)
		return -1;
	l->user = xstrdup(cs->username);
	l->sasl_step = 0;
	l->sasl_error[0] = '\0';
	server_step_begin(l);
	if (strcmp(l->mech, "LOGIN") == 0) {
		cmd = imap_conn_cmd(l->conn, server_step_done, l, "LOGIN %s %P",
		                    l->user, l->password);
	} else if (strcmp(l->mech, "PLAIN") == 0) {
		if (ir)
			b64 = sasl_plain(NULL, l->user, l->password);
		cmd = b64 != NULL ? imap_conn_cmd(l->conn, server_step_done, l,
		                                  "AUTHENTICATE PLAIN %P", b64)
		                  : imap_conn_cmd(l->conn, server_step_done, l,
		                                  "AUTHENTICATE PLAIN");
		if (b64 != NULL)
			l->sasl_step = 1;
	} else {
		l->scram = sasl_scram_create(l->user, l->password, NULL);
		if (ir) {
			first = sasl_scram_client_first(l->scram);
			b64 = sasl_base64_encode(first, strlen(first));
			free(first);
			l->sasl_step = 1;
		}
		cmd = b64 != NULL
		          ? imap_conn_cmd(l->conn, server_step_done, l,
		                          "AUTHENTICATE SCRAM-SHA-256 %P", b64)
		          : imap_conn_cmd(l->conn, server_step_done, l,
		                          "AUTHENTICATE SCRAM-SHA-256");
	}
	sasl_free_secret(b64);
	if (cmd == NULL) {
		l->busy = false;
		*error_r = imap_conn_error(l->conn);
		return -1;
	}
	if (strcmp(l->mech, "LOGIN") != 0)
		imap_cmd_set_continuation(cmd, auth_continuation);
	return 0;
}
