/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The byte streams of type=imap and type=imaps: TCP, a SOCKS5 proxy in
 * front when configured, TLS per the SSL_* keys; and the password. */
#include "server-private.h"

#include "config.h"
#include "limits.h"
#include "transport.h"
#include "xmalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

static char server_net_error[600];

struct transport *
server_net_tls(const struct config_side *cs, struct transport *lower,
               const char **error_r)
{
	struct transport_tls_settings set;
	char host[256];

	if (transport_tcp_host(cs->host, host, sizeof(host)) < 0) {
		*error_r = "invalid host";
		return NULL;
	}
	memset(&set, 0, sizeof(set));
	set.host = cs->ssl_hostname != NULL && cs->ssl_hostname[0] != '\0'
	               ? cs->ssl_hostname
	               : host;
	set.sni = cs->ssl_hostname != NULL ? cs->ssl_hostname : host;
	set.verify = cs->ssl_verify;
	set.cafile = cs->ssl_cafile;
	set.capath = cs->ssl_capath;
	set.protocol_min = cs->ssl_protocol_min;
	set.protocol_max = cs->ssl_protocol_max;
	set.protocols = cs->ssl_protocols;
	set.cipherlist = cs->ssl_cipherlist;
	set.ciphersuites = cs->ssl_ciphersuites;
	set.fingerprints = cs->ssl_fingerprint;
	return transport_tls_create(lower, &set, error_r);
}

struct transport *
server_net_transport(const struct config_side *cs, const char **error_r)
{
	struct transport_socks5_url url;
	struct transport *t, *up;
	char host[256];

	if (cs->proxy == NULL) {
		t = transport_tcp_connect(cs->host, cs->port, true, error_r);
	} else {
		if (transport_socks5_parse_url(cs->proxy, &url, error_r) < 0)
			return NULL;
		t = transport_tcp_connect(url.host, url.port, true, error_r);
		if (t == NULL) {
			snprintf(server_net_error, sizeof(server_net_error),
			         "SOCKS5 proxy: %s", *error_r);
			*error_r = server_net_error;
		} else if (transport_tcp_host(cs->host, host, sizeof(host)) <
		               0 ||
		           (up = transport_socks5_create(
		                t, host, cs->port,
		                url.has_user ? url.user : NULL, url.password,
		                url.remote_dns, error_r)) == NULL) {
			transport_free(&t);
		} else {
			t = up;
		}
		sodium_memzero(&url, sizeof(url));
	}
	if (t == NULL || cs->type != CONFIG_TYPE_IMAPS)
		return t;
	up = server_net_tls(cs, t, error_r);
	if (up == NULL)
		transport_free(&t);
	return up;
}

static int64_t
server_net_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
server_auth_password(const struct config_side *cs, char **password_r,
                     const char **error_r)
{
	char *buf;
	size_t len = 0;
	ssize_t n;
	int fds[2], status;
	int64_t deadline;
	bool timed_out = false;
	pid_t pid;

	*password_r = NULL;
	if (cs->password_command == NULL) {
		if (cs->password == NULL) {
			*error_r = "no password (set password or "
			           "password-command)";
			return -1;
		}
		*password_r = xstrdup(cs->password);
		return 0;
	}
	if (pipe2(fds, O_CLOEXEC) < 0) {
		*error_r = "pipe failed";
		return -1;
	}
	pid = fork();
	if (pid == 0) {
		signal(SIGPIPE, SIG_DFL);
		if (dup2(fds[1], 1) < 0)
			_exit(127);
		execl("/bin/sh", "sh", "-c", cs->password_command,
		      (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	if (pid < 0) {
		close(fds[0]);
		*error_r = "fork failed";
		return -1;
	}
	buf = xmalloc(IMAP_MAX_PASSWORD + 1);
	deadline = cs->password_command_timeout > 0
	               ? server_net_now_ms() +
	                     (int64_t)cs->password_command_timeout * 1000
	               : -1;
	while (len < IMAP_MAX_PASSWORD) {
		struct pollfd pfd = {.fd = fds[0], .events = POLLIN};
		int64_t left =
		    deadline < 0 ? -1 : deadline - server_net_now_ms();

		if (deadline >= 0 && left <= 0) {
			timed_out = true;
			break;
		}
		if (poll(&pfd, 1, left < 0 ? -1 : (int)left) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pfd.revents == 0)
			continue;
		n = read(fds[0], buf + len, IMAP_MAX_PASSWORD - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += n;
	}
	close(fds[0]);
	/* The shell, not what it started: a prompt it left keeps its
	 * terminal; it has lost its reader. */
	if (timed_out)
		kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	buf[len] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	if (timed_out || !WIFEXITED(status) || WEXITSTATUS(status) != 0 ||
	    buf[0] == '\0') {
		sodium_memzero(buf, IMAP_MAX_PASSWORD + 1);
		free(buf);
		if (timed_out)
			snprintf(server_net_error, sizeof(server_net_error),
			         "password-command '%.200s' gave no password "
			         "within %u s: stopped it (raise "
			         "password-command-timeout if it needs longer)",
			         cs->password_command,
			         cs->password_command_timeout);
		else
			snprintf(server_net_error, sizeof(server_net_error),
			         "password-command '%.200s' %s",
			         cs->password_command,
			         WIFEXITED(status) && WEXITSTATUS(status) == 0
			             ? "printed no password"
			             : "failed");
		*error_r = server_net_error;
		return -1;
	}
	*password_r = buf;
	return 0;
}
