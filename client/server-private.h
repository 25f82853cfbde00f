/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Inside server.c and its helpers: one side's progress through the
 * connection steps (greeting, STARTTLS, AUTHENTICATE, COMPRESS), driven for
 * both sides together so both servers work at the same time. */
#ifndef CLIENT_SERVER_PRIVATE_H
#define CLIENT_SERVER_PRIVATE_H

#include "side.h"

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

struct config_side;
struct imap_conn;
struct imap_cmd;
struct imap_response;
struct sasl_scram;
struct sync_run;
struct transport;

struct server_login {
	enum side side;
	const struct config_side *cs;
	struct imap_conn *conn;
	int debug;
	/* connect-timeout: for all the steps together. */
	int timeout_ms;
	/* Set by a signal (watch mode): the steps end there. */
	const volatile sig_atomic_t *stop;
	/* The step's command is in flight. */
	bool busy;
	/* Its tagged status (enum imap_status), -1 if the connection went. */
	int status;
	char text[256];
	/* Its tagged OK carried [CAPABILITY ...]. */
	bool caps_code;
	/* Hold input after the tagged response (STARTTLS, COMPRESS). */
	bool hold;
	/* AUTHENTICATE in progress. */
	const char *mech;
	char *user, *password; /* password wiped on free */
	struct sasl_scram *scram;
	int sasl_step;
	char sasl_error[160];
};

/* Queue cmd's callback state for a step: busy until its tagged response. */
void server_step_begin(struct server_login *l);
/* The imap_cmd_fn of every step command (ctx: the server_login). */
void server_step_done(struct imap_conn *conn, const struct imap_response *resp,
                      void *ctx);

/* The transport a network side starts with: TCP (through the SOCKS5
 * proxy, if any), and TLS for imaps. NULL with *error_r on failure. */
struct transport *server_net_transport(const struct config_side *cs,
                                       const char **error_r);
/* TLS over lower per the side's SSL_* keys (STARTTLS or imaps). */
struct transport *server_net_tls(const struct config_side *cs,
                                 struct transport *lower, const char **error_r);

/* The password: the config's, or the first line printed by
 * password-command. *password_r is the caller's to wipe and free. */
int server_auth_password(const struct config_side *cs, char **password_r,
                         const char **error_r);
/* Queue the AUTHENTICATE or LOGIN the side's auth list and the server's
 * capabilities call for; -1 with *error_r when none can be used. */
int server_auth_start(struct server_login *l, const char **error_r);
/* Forget the credentials (wiped). */
void server_auth_clear(struct server_login *l);

#endif
