/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Reaching both servers at once: start both transports, then take each
 * side through the same steps together (greeting, STARTTLS, login,
 * COMPRESS, capabilities), one round trip per step for both. */
#include "server.h"

#include "config.h"
#include "imap-conn.h"
#include "imap-decode.h"
#include "log.h"
#include "server-private.h"
#include "sync.h"
#include "transport.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What the sync cannot work without, and what a user can do about it. */
static const struct {
	uint64_t cap;
	const char *name;
} server_required[] = {
    {IMAP_CAP_IMAP4REV1, "IMAP4rev1"},
    {IMAP_CAP_ENABLE, "ENABLE"},
    {IMAP_CAP_QRESYNC, "QRESYNC"},
    {IMAP_CAP_LIST_EXTENDED, "LIST-EXTENDED"},
    {IMAP_CAP_LIST_STATUS, "LIST-STATUS"},
    {IMAP_CAP_UIDPLUS, "UIDPLUS"},
};

/* Messages start with the side's name, as the log-prefix wants it. */
static const char *
server_label(const struct server_login *l)
{
	return side_name(l->side);
}

void
server_step_begin(struct server_login *l)
{
	l->busy = true;
	l->status = -1;
	l->text[0] = '\0';
	l->caps_code = false;
}

void
server_step_done(struct imap_conn *conn, const struct imap_response *resp,
                 void *ctx)
{
	struct server_login *l = ctx;

	l->busy = false;
	l->status = resp != NULL ? (int)resp->status : -1;
	snprintf(l->text, sizeof(l->text), "%s",
	         resp != NULL && resp->text != NULL ? resp->text : "");
	l->caps_code = resp != NULL && resp->code != NULL &&
	               strcmp(resp->code, "CAPABILITY") == 0;
	if (l->hold && resp != NULL)
		imap_conn_hold_input(conn);
}

static bool
server_steps_done(void *ctx)
{
	struct server_login *l = ctx;
	unsigned s;

	if (l[0].stop != NULL && *l[0].stop != 0)
		return true;
	for (s = 0; s < SIDE_COUNT; s++) {
		if (l[s].busy ||
		    imap_conn_state(l[s].conn) == IMAP_CONN_GREETING)
			return false;
	}
	return true;
}

/* Why side l failed while connecting: the transport's reason (connect,
 * TLS, proxy) says more than the connection's "cannot read". */
static void
server_log_failure(const struct server_login *l)
{
	struct transport *t = imap_conn_get_transport(l->conn);
	const char *why = transport_error(t);

	if (imap_conn_state(l->conn) != IMAP_CONN_FAILED &&
	    imap_conn_state(l->conn) != IMAP_CONN_CLOSED)
		return;
	if (why[0] != '\0' && l->cs->type != CONFIG_TYPE_TUNNEL &&
	    imap_conn_state(l->conn) == IMAP_CONN_FAILED)
		log_error(server_label(l), NULL, "%s", why);
	else
		log_error(NULL, NULL, "%s", imap_conn_error(l->conn));
}

/* Drive both sides until every step command is answered. */
static int
server_steps_run(struct server_login *l)
{
	struct imap_conn *conns[SIDE_COUNT];
	unsigned s;
	int r;

	for (s = 0; s < SIDE_COUNT; s++)
		conns[s] = l[s].conn;
	errno = 0;
	/* Each connection also has its deadline for all the steps. */
	r = imap_conn_run(conns, SIDE_COUNT, server_steps_done, l,
	                  l[0].timeout_ms);
	if (r == 0)
		return l[0].stop != NULL && *l[0].stop != 0 ? -1 : 0;
	for (s = 0; s < SIDE_COUNT; s++) {
		if (imap_conn_state(conns[s]) == IMAP_CONN_FAILED ||
		    imap_conn_state(conns[s]) == IMAP_CONN_CLOSED)
			server_log_failure(&l[s]);
		else if (errno == ETIMEDOUT &&
		         (l[s].busy ||
		          imap_conn_state(conns[s]) == IMAP_CONN_GREETING))
			log_error(server_label(&l[s]), NULL,
			          "no answer within %d s%s",
			          l[s].timeout_ms / 1000,
			          transport_tcp_connecting(
			              imap_conn_get_transport(conns[s]))
			              ? " (connecting)"
			              : "");
	}
	return -1;
}

static int
server_start(struct server_login *l, int debug)
{
	struct imap_conn_settings set = {
	    .name = side_name(l->side),
	    .debug = debug,
	    .trace = log_trace,
	};
	const struct config_side *cs = l->cs;
	struct transport *t;
	const char *error;

	if (cs->type == CONFIG_TYPE_TUNNEL) {
		t = transport_tunnel_create(cs->command, cs->null_stderr,
		                            &error);
		if (t == NULL) {
			log_error(side_name(l->side), NULL,
			          "cannot start the tunnel command '%s': %s",
			          cs->command, error);
			return -1;
		}
	} else {
		t = server_net_transport(cs, &error);
		if (t == NULL) {
			log_error(server_label(l), NULL, "%s", error);
			return -1;
		}
	}
	l->conn = imap_conn_create(&set, t);
	return 0;
}

/* After the greeting: a tunnel must be pre-authenticated; a connection to
 * be upgraded by STARTTLS must not be (PREAUTH would skip the upgrade). */
static int
server_check_greeting(struct server_login *l)
{
	bool preauth = imap_conn_state(l->conn) == IMAP_CONN_AUTH;

	if (imap_conn_state(l->conn) != IMAP_CONN_AUTH &&
	    imap_conn_state(l->conn) != IMAP_CONN_NOAUTH) {
		server_log_failure(l);
		return -1;
	}
	if (l->cs->type == CONFIG_TYPE_TUNNEL && !preauth) {
		log_error(side_name(l->side), NULL,
		          "the server did not greet with PREAUTH: the "
		          "tunnel command must start a pre-authenticated "
		          "session (e.g. `doveadm exec imap` or "
		          "imapsync-remote)");
		return -1;
	}
	if (l->cs->type == CONFIG_TYPE_IMAP && l->cs->starttls && preauth) {
		log_error(server_label(l), NULL,
		          "the server greeted with PREAUTH on a plaintext "
		          "connection that STARTTLS was to protect: refusing "
		          "it (set STARTTLS = NO to accept it in clear)");
		return -1;
	}
	return 0;
}

/* Ask for CAPABILITY on every side that needs it (want[s]). */
static int
server_capability(struct server_login *l, const bool *want)
{
	bool any = false;
	unsigned s;

	for (s = 0; s < SIDE_COUNT; s++) {
		if (!want[s])
			continue;
		l[s].hold = false;
		server_step_begin(&l[s]);
		imap_conn_cmd(l[s].conn, server_step_done, &l[s], "CAPABILITY");
		any = true;
	}
	if (any && server_steps_run(l) < 0)
		return -1;
	for (s = 0; s < SIDE_COUNT; s++) {
		if (want[s] && l[s].status != IMAP_STATUS_OK) {
			log_error(server_label(&l[s]), NULL,
			          "CAPABILITY failed: %s", l[s].text);
			return -1;
		}
	}
	return 0;
}

/* Swap in a new layer after STARTTLS or COMPRESS: nothing may have come
 * between the tagged OK and the new layer's first byte. */
static int
server_swap_layer(struct server_login *l, const char *what, bool tls)
{
	struct transport *old = imap_conn_get_transport(l->conn), *t;
	const char *error;

	if (imap_conn_input_pending(l->conn) > 0) {
		log_error(server_label(l), NULL,
		          "the server sent %zu bytes after its %s response, "
		          "before the %s started (a response injection?): "
		          "refusing the connection",
		          imap_conn_input_pending(l->conn), what,
		          tls ? "TLS handshake" : "compression");
		return -1;
	}
	t = tls ? server_net_tls(l->cs, old, &error)
	        : transport_deflate_create(old, &error);
	if (t == NULL) {
		log_error(server_label(l), NULL, "%s", error);
		return -1;
	}
	imap_conn_set_transport(l->conn, t);
	return 0;
}

static int
server_starttls(struct server_login *l)
{
	bool want[SIDE_COUNT] = {false}, any = false;
	unsigned s;

	for (s = 0; s < SIDE_COUNT; s++) {
		if (l[s].cs->type != CONFIG_TYPE_IMAP || !l[s].cs->starttls)
			continue;
		if ((imap_conn_caps(l[s].conn) & IMAP_CAP_STARTTLS) == 0) {
			log_error(
			    server_label(&l[s]), NULL,
			    "the server does not offer STARTTLS: refusing "
			    "to log in in clear (use type=imaps, or "
			    "STARTTLS = NO at your own risk)");
			return -1;
		}
		l[s].hold = true;
		server_step_begin(&l[s]);
		imap_conn_cmd(l[s].conn, server_step_done, &l[s], "STARTTLS");
		want[s] = any = true;
	}
	if (!any)
		return 0;
	if (server_steps_run(l) < 0)
		return -1;
	for (s = 0; s < SIDE_COUNT; s++) {
		if (!want[s])
			continue;
		l[s].hold = false;
		if (l[s].status != IMAP_STATUS_OK) {
			log_error(server_label(&l[s]), NULL,
			          "STARTTLS failed: %s", l[s].text);
			return -1;
		}
		if (server_swap_layer(&l[s], "STARTTLS", true) < 0)
			return -1;
	}
	/* What the server said before TLS cannot be trusted. */
	return server_capability(l, want);
}

static int
server_login(struct server_login *l)
{
	bool want[SIDE_COUNT] = {false}, any = false;
	const char *error;
	unsigned s;
	int ret = 0;

	for (s = 0; s < SIDE_COUNT; s++) {
		if (imap_conn_state(l[s].conn) != IMAP_CONN_NOAUTH)
			continue;
		l[s].hold = false;
		if (server_auth_start(&l[s], &error) < 0) {
			log_error(server_label(&l[s]), NULL,
			          "cannot log in: %s", error);
			ret = -1;
			break;
		}
		want[s] = any = true;
	}
	if (ret == 0 && any && server_steps_run(l) < 0)
		ret = -1;
	for (s = 0; s < SIDE_COUNT; s++) {
		if (ret == 0 && want[s] && l[s].status != IMAP_STATUS_OK) {
			log_error(server_label(&l[s]), NULL,
			          "authentication failed on %s (%s as %s): %s",
			          l[s].cs->host, l[s].mech, l[s].cs->username,
			          l[s].sasl_error[0] != '\0' ? l[s].sasl_error
			                                     : l[s].text);
			ret = -1;
		}
		server_auth_clear(&l[s]);
		want[s] = want[s] && !l[s].caps_code;
	}
	/* Capabilities change once logged in; most servers say so in the
	 * tagged OK, the others are asked. */
	if (ret == 0 && server_capability(l, want) < 0)
		ret = -1;
	return ret;
}

/* COMPRESS=DEFLATE: an explicit compress = YES or NO rules; by default
 * [remote] over the network compresses and tunnels do not (ssh
 * compresses already). */
static bool
server_wants_compress(const struct config_side *cs)
{
	if (cs->line[CONFIG_COMPRESS] != 0)
		return cs->compress;
	return cs->compress && cs->type != CONFIG_TYPE_TUNNEL;
}

static int
server_compress(struct server_login *l)
{
	bool want[SIDE_COUNT] = {false}, any = false;
	unsigned s;

	for (s = 0; s < SIDE_COUNT; s++) {
		if (!server_wants_compress(l[s].cs) ||
		    (imap_conn_caps(l[s].conn) & IMAP_CAP_COMPRESS_DEFLATE) ==
		        0)
			continue;
		l[s].hold = true;
		server_step_begin(&l[s]);
		imap_conn_cmd(l[s].conn, server_step_done, &l[s],
		              "COMPRESS DEFLATE");
		want[s] = any = true;
	}
	if (!any)
		return 0;
	if (server_steps_run(l) < 0)
		return -1;
	for (s = 0; s < SIDE_COUNT; s++) {
		if (!want[s])
			continue;
		l[s].hold = false;
		if (l[s].status != IMAP_STATUS_OK) {
			/* Not worth failing the run over. */
			log_warn(server_label(&l[s]), NULL,
			         "COMPRESS DEFLATE refused: %s", l[s].text);
			imap_conn_set_transport(
			    l[s].conn, imap_conn_get_transport(l[s].conn));
			continue;
		}
		if (server_swap_layer(&l[s], "COMPRESS", false) < 0)
			return -1;
	}
	return 0;
}

/* A side whose traffic others on the network may read or change: said
 * once per process, not at each reconnect of --watch. */
static void
server_warn_insecure(const struct server_login *l)
{
	static bool warned[SIDE_COUNT];
	const struct config_side *cs = l->cs;

	if (warned[l->side])
		return;
	if (cs->type == CONFIG_TYPE_IMAP && !cs->starttls) {
		warned[l->side] = true;
		log_warn(server_label(l), NULL,
		         "STARTTLS = NO: the password and the mail cross the "
		         "network in clear (use type = imaps, or STARTTLS = "
		         "YES)");
	} else if ((cs->type == CONFIG_TYPE_IMAPS ||
	            cs->type == CONFIG_TYPE_IMAP) &&
	           !cs->ssl_verify && cs->ssl_fingerprint == NULL) {
		warned[l->side] = true;
		log_warn(server_label(l), NULL,
		         "SSL_verify = NO: the server's certificate is not "
		         "checked, so anyone on the way can pose as it and "
		         "read the password and the mail (pin its key with "
		         "SSL_fingerprint instead)");
	}
}

int
server_connect(struct sync_run *run, const struct config *config, int debug)
{
	struct server_login l[SIDE_COUNT];
	bool want[SIDE_COUNT];
	unsigned s, i;
	int ret = -1;

	memset(l, 0, sizeof(l));
	for (s = 0; s < SIDE_COUNT; s++) {
		run->server[s].side = s;
		l[s].side = s;
		l[s].cs = &config->side[s];
		l[s].debug = debug;
		l[s].timeout_ms = (int)config->connect_timeout * 1000;
		l[s].stop = run->stop;
		run->server[s].reference = l[s].cs->list_reference != NULL
		                               ? l[s].cs->list_reference
		                               : "";
		server_warn_insecure(&l[s]);
		if (server_start(&l[s], debug) < 0)
			goto out;
		run->server[s].conn = l[s].conn;
		/* A server that trickles its greeting cannot stretch this. */
		imap_conn_set_deadline(l[s].conn, l[s].timeout_ms,
		                       "connecting and logging in");
		imap_conn_set_answer_timeout(l[s].conn,
		                             (int)config->timeout * 1000);
	}
	if (server_steps_run(l) < 0)
		goto out;
	for (s = 0; s < SIDE_COUNT; s++) {
		if (server_check_greeting(&l[s]) < 0)
			goto out;
		want[s] = imap_conn_caps(l[s].conn) == 0;
	}
	if (server_capability(l, want) < 0 || server_starttls(l) < 0 ||
	    server_login(l) < 0 || server_compress(l) < 0)
		goto out;
	for (s = 0; s < SIDE_COUNT; s++) {
		uint64_t caps = imap_conn_caps(l[s].conn);

		for (i = 0;
		     i < sizeof(server_required) / sizeof(server_required[0]);
		     i++) {
			if ((caps & server_required[i].cap) != 0)
				continue;
			log_error(server_label(&l[s]), NULL,
			          "the server lacks the %s capability, which "
			          "imapsync needs (Dovecot 2.2.25 or later has "
			          "all it needs)",
			          server_required[i].name);
			goto out;
		}
		run->server[s].caps = caps;
		imap_conn_set_deadline(l[s].conn, -1, NULL);
	}
	ret = 0;
out:
	for (s = 0; s < SIDE_COUNT; s++)
		server_auth_clear(&l[s]);
	return ret;
}

static void
server_logout_done(struct imap_conn *conn, const struct imap_response *resp,
                   void *ctx)
{
	(void)conn;
	(void)resp;
	(void)ctx;
}

static bool
server_logout_written(void *ctx)
{
	struct imap_conn **conns = ctx;
	unsigned s;

	for (s = 0; s < SIDE_COUNT && conns[s] != NULL; s++) {
		if (imap_conn_output_queued(conns[s]) > 0)
			return false;
	}
	return true;
}

void
server_disconnect(struct sync_run *run)
{
	struct imap_conn *conns[SIDE_COUNT + 1] = {NULL, NULL, NULL};
	size_t n = 0;
	unsigned s;

	for (s = 0; s < SIDE_COUNT; s++) {
		struct imap_conn *c = run->server[s].conn;

		if (c == NULL)
			continue;
		/* A tunnel's session ends with its input, as interimap
		 * leaves it: LOGOUT and BYE would be ~75 bytes a run. A
		 * server over the network gets a LOGOUT. */
		if (run->config != NULL &&
		    run->config->side[s].type == CONFIG_TYPE_TUNNEL)
			continue;
		if (imap_conn_state(c) == IMAP_CONN_AUTH ||
		    imap_conn_state(c) == IMAP_CONN_NOAUTH) {
			imap_conn_cmd(c, server_logout_done, NULL, "LOGOUT");
			conns[n++] = c;
		}
	}
	/* The server's answer to LOGOUT tells nothing worth a round
	 * trip: once the command is written, hang up. */
	if (n > 0)
		(void)imap_conn_run(conns, n, server_logout_written, conns,
		                    5000);
	for (s = 0; s < SIDE_COUNT; s++)
		imap_conn_free(&run->server[s].conn);
}

/* 1536 -> "1.5 KiB", as interimap prints its traffic line. */
static void
server_kibi(uint64_t n, char *out, size_t size)
{
	static const char *const unit[] = {"B", "KiB", "MiB", "GiB", "TiB"};
	double v = (double)n;
	unsigned u = 0;

	while (v >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(out, size, "%" PRIu64 " B", n);
	else
		snprintf(out, size, "%.2f %s", v, unit[u]);
}

void
server_log_stats(const struct sync_run *run)
{
	unsigned s;

	for (s = 0; s < SIDE_COUNT; s++) {
		struct imap_conn_stats st;
		char in[32], out[32];

		if (run->server[s].conn == NULL)
			continue;
		imap_conn_get_stats(run->server[s].conn, &st);
		server_kibi(st.bytes_in, in, sizeof(in));
		server_kibi(st.bytes_out, out, sizeof(out));
		log_info(side_name(s), NULL,
		         "IMAP traffic (bytes): recv %s sent %s", in, out);
		/* TLS and COMPRESS make the socket's count differ. */
		if (st.wire_in == st.bytes_in && st.wire_out == st.bytes_out)
			continue;
		server_kibi(st.wire_in, in, sizeof(in));
		server_kibi(st.wire_out, out, sizeof(out));
		log_info(side_name(s), NULL,
		         "Network traffic (bytes): recv %s sent %s", in, out);
	}
}
