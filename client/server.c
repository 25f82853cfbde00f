#include "server.h"

#include "config.h"
#include "imap-conn.h"
#include "imap-decode.h"
#include "log.h"
#include "sync.h"
#include "transport.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define SERVER_TIMEOUT_MS (60 * 1000)

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

static bool
server_greeted(void *ctx)
{
	struct sync_run *run = ctx;
	unsigned s;

	for (s = 0; s < SIDE_COUNT; s++) {
		if (imap_conn_state(run->server[s].conn) == IMAP_CONN_GREETING)
			return false;
	}
	return true;
}

static int
server_start(struct sync_server *srv, const struct config_side *cs, int debug)
{
	struct imap_conn_settings set = {
	    .name = side_name(srv->side),
	    .debug = debug,
	    .trace = log_trace,
	};
	struct transport *t;
	const char *error;

	if (cs->type != CONFIG_TYPE_TUNNEL || cs->command == NULL) {
		log_error(side_name(srv->side), NULL,
		          "only type=tunnel with a command is supported by "
		          "this build");
		return -1;
	}
	t = transport_tunnel_create(cs->command, cs->null_stderr, &error);
	if (t == NULL) {
		log_error(side_name(srv->side), NULL,
		          "cannot start the tunnel command '%s': %s",
		          cs->command, error);
		return -1;
	}
	srv->conn = imap_conn_create(&set, t);
	if (srv->conn == NULL) {
		log_error(side_name(srv->side), NULL, "out of memory");
		return -1;
	}
	srv->reference = cs->list_reference != NULL ? cs->list_reference : "";
	return 0;
}

static void
server_ignore_done(struct imap_conn *conn, const struct imap_response *resp,
                   void *ctx)
{
	(void)conn;
	(void)resp;
	(void)ctx;
}

int
server_connect(struct sync_run *run, const struct config *config, int debug)
{
	struct imap_conn *conns[SIDE_COUNT];
	bool need_caps = false;
	unsigned s, i;

	for (s = 0; s < SIDE_COUNT; s++) {
		run->server[s].side = s;
		if (server_start(&run->server[s], &config->side[s], debug) < 0)
			return -1;
		conns[s] = run->server[s].conn;
	}
	if (imap_conn_run(conns, SIDE_COUNT, server_greeted, run,
	                  SERVER_TIMEOUT_MS) < 0) {
		for (s = 0; s < SIDE_COUNT; s++) {
			if (imap_conn_error(conns[s])[0] != '\0')
				log_error(NULL, NULL, "%s",
				          imap_conn_error(conns[s]));
		}
		return -1;
	}
	for (s = 0; s < SIDE_COUNT; s++) {
		switch (imap_conn_state(conns[s])) {
		case IMAP_CONN_AUTH:
			break;
		case IMAP_CONN_NOAUTH:
			log_error(side_name(s), NULL,
			          "the server did not greet with PREAUTH: the "
			          "tunnel command must start a pre-"
			          "authenticated session (e.g. `doveadm exec "
			          "imap` or imapsync-remote)");
			return -1;
		default:
			log_error(NULL, NULL, "%s", imap_conn_error(conns[s]));
			return -1;
		}
		if (imap_conn_caps(conns[s]) == 0) {
			imap_conn_cmd(conns[s], server_ignore_done, NULL,
			              "CAPABILITY");
			need_caps = true;
		}
	}
	if (need_caps && sync_run_wait(run) < 0)
		return -1;
	for (s = 0; s < SIDE_COUNT; s++) {
		uint64_t caps = imap_conn_caps(conns[s]);

		for (i = 0;
		     i < sizeof(server_required) / sizeof(server_required[0]);
		     i++) {
			if ((caps & server_required[i].cap) != 0)
				continue;
			log_error(side_name(s), NULL,
			          "the server lacks the %s capability, which "
			          "imapsync needs (Dovecot 2.2.25 or later has "
			          "all it needs)",
			          server_required[i].name);
			return -1;
		}
		run->server[s].caps = caps;
	}
	return 0;
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
	}
}
