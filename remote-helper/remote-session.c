/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The session: a cleaned environment and `doveadm exec imap`. */
#include "lib.h"
#include "array.h"
#include "env-util.h"
#include "execv-const.h"
#include "istream.h"
#include "str-sanitize.h"
#include "str.h"
#include "strescape.h"
#include "strnum.h"
#include "write-full.h"

#include "remote-session.h"
#include "remote-settings.h"

#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* --check gives up on a session that has not answered by then. */
#define REMOTE_CHECK_TIMEOUT_SECS 30
/* Dovecot's CAPABILITY lines are a few hundred bytes. */
#define REMOTE_CHECK_MAX_LINE 65536

/* What imapsync needs from the server, and what saves it round trips. */
static const struct {
	const char *name;
	bool required;
} remote_check_wanted[] = {
    {"QRESYNC", TRUE},      {"LIST-STATUS", TRUE}, {"UIDPLUS", TRUE},
    {"MULTIAPPEND", FALSE}, {"LITERAL+", FALSE},
};

static void
remote_session_env(const struct passwd *pw)
{
	const char *tz = getenv("TZ");

	/* Dates in Dovecot's logs follow TZ; nothing else from sshd's
	   environment is of use to it. */
	if (tz != NULL)
		tz = t_strdup(tz);
	env_clean();
	env_put("PATH", REMOTE_SESSION_PATH);
	env_put("USER", pw->pw_name);
	env_put("LOGNAME", pw->pw_name);
	env_put("HOME", pw->pw_dir);
	if (tz != NULL)
		env_put("TZ", tz);
}

static const char *const *
remote_session_argv(const struct remote_settings *set)
{
	ARRAY_TYPE(const_string) args;
	const char *arg;

	t_array_init(&args, 8);
	array_push_back(&args, &set->doveadm);
	if (set->dovecot_config != NULL) {
		arg = "-c";
		array_push_back(&args, &arg);
		array_push_back(&args, &set->dovecot_config);
	}
	arg = "exec";
	array_push_back(&args, &arg);
	arg = "imap";
	array_push_back(&args, &arg);
	array_append_zero(&args);
	return array_front(&args);
}

void
remote_session_exec(const struct remote_settings *set, const struct passwd *pw)
{
	const char *const *argv = remote_session_argv(set);

	remote_session_env(pw);
	if (chdir(pw->pw_dir) < 0 && chdir("/") < 0)
		i_fatal("chdir(/) failed: %m");
	execvp_const(argv[0], argv);
}

const char *
remote_session_find_doveadm(const char *doveadm)
{
	const char *const *dirs;
	const char *path;

	if (strchr(doveadm, '/') != NULL)
		return access(doveadm, X_OK) == 0 ? doveadm : NULL;
	dirs = t_strsplit(REMOTE_SESSION_PATH, ":");
	for (; *dirs != NULL; dirs++) {
		path = t_strconcat(*dirs, "/", doveadm, NULL);
		if (access(path, X_OK) == 0)
			return path;
	}
	return NULL;
}

static bool
remote_check_has(ARRAY_TYPE(const_string) * caps, const char *want)
{
	const char *cap;

	array_foreach_elem(caps, cap)
	{
		if (strcasecmp(cap, want) == 0)
			return TRUE;
	}
	return FALSE;
}

/* Each word after "CAPABILITY" up to "]" or the end of the line, once:
   Dovecot lists them in the greeting and again when asked. */
static void
remote_check_add_caps(ARRAY_TYPE(const_string) * caps, const char *text)
{
	const char *const *words;
	const char *word;
	bool in_caps = FALSE;

	words = t_strsplit_spaces(text, " ");
	for (; *words != NULL; words++) {
		word = *words;
		if (!in_caps) {
			if (strcasecmp(word, "[CAPABILITY") == 0 ||
			    strcasecmp(word, "CAPABILITY") == 0)
				in_caps = TRUE;
			continue;
		}
		if (word[strlen(word) - 1] == ']') {
			word = t_strndup(word, strlen(word) - 1);
			if (word[0] != '\0' && !remote_check_has(caps, word))
				array_push_back(caps, &word);
			break;
		}
		if (!remote_check_has(caps, word)) {
			word = t_strdup(word);
			array_push_back(caps, &word);
		}
	}
}

/* A mailbox the session lists, with its message count. */
struct remote_check_mailbox {
	const char *name;
	unsigned int messages;
};
ARRAY_DEFINE_TYPE(remote_check_mailbox, struct remote_check_mailbox);

/* "* STATUS name (MESSAGES n)": the name (quoted or an atom; a literal
   is left out) and n, into boxes. */
static void
remote_check_add_status(ARRAY_TYPE(remote_check_mailbox) * boxes, const char *p)
{
	struct remote_check_mailbox box;
	string_t *name = t_str_new(64);
	const char *m;

	if (*p == '"') {
		for (p++; *p != '\0' && *p != '"'; p++) {
			if (*p == '\\' && p[1] != '\0')
				p++;
			str_append_c(name, *p);
		}
		if (*p != '"')
			return;
		p++;
	} else if (*p == '{') {
		return;
	} else {
		while (*p != '\0' && *p != ' ')
			str_append_c(name, *p++);
	}
	m = strstr(p, "MESSAGES ");
	if (m == NULL || str_to_uint(t_strcut(m + 9, ')'), &box.messages) < 0)
		return;
	box.name = t_strdup(str_c(name));
	array_push_back(boxes, &box);
}

/* Talk to the session on fd; fills caps and boxes, returns 0 or -1 with
   *error_r. */
static int
remote_check_talk(int fd, ARRAY_TYPE(const_string) * caps,
                  ARRAY_TYPE(remote_check_mailbox) * boxes,
                  const char **error_r)
{
	static const char query[] =
	    "c1 CAPABILITY\r\n"
	    "c2 LIST \"\" \"*\" RETURN (STATUS (MESSAGES))\r\n"
	    "c3 LOGOUT\r\n";
	struct istream *input;
	const char *line;
	bool greeted = FALSE, done = FALSE;
	int ret = 0;

	if (write_full(fd, query, sizeof(query) - 1) < 0) {
		*error_r = t_strdup_printf("write to the session failed: %m");
		return -1;
	}
	input = i_stream_create_fd(fd, REMOTE_CHECK_MAX_LINE);
	while (!done && (line = i_stream_read_next_line(input)) != NULL) {
		if (!greeted) {
			greeted = TRUE;
			if (!str_begins(line, "* PREAUTH")) {
				*error_r =
				    t_strdup_printf("the session did not start "
				                    "pre-authenticated: %s",
				                    str_sanitize(line, 200));
				ret = -1;
				break;
			}
			remote_check_add_caps(caps, line + 9);
		} else if (strncasecmp(line, "* CAPABILITY ", 13) == 0) {
			remote_check_add_caps(caps, line + 2);
		} else if (strncasecmp(line, "* STATUS ", 9) == 0) {
			remote_check_add_status(boxes, line + 9);
		} else if (str_begins(line, "c3 ")) {
			done = TRUE;
		}
	}
	if (ret == 0 && !greeted) {
		*error_r =
		    input->stream_errno != 0
		        ? t_strdup_printf("reading the session failed: %s",
		                          i_stream_get_error(input))
		        : "the session ended without a greeting "
		          "(see Dovecot's error)";
		ret = -1;
	}
	i_stream_unref(&input);
	return ret;
}

/* Dovecot's mail_location for the session, by `doveconf -h` from beside
   doveadm, in the session's environment; NULL if it cannot say. */
static const char *
remote_check_mail_location(const struct remote_settings *set,
                           const struct passwd *pw, const char *doveadm)
{
	const char *doveconf, *slash = strrchr(doveadm, '/');
	const char *argv[6];
	char buf[1024];
	unsigned int n = 0;
	size_t len = 0;
	ssize_t r;
	int fds[2], status;
	pid_t pid;

	if (slash == NULL)
		return NULL;
	doveconf =
	    t_strconcat(t_strdup_until(doveadm, slash + 1), "doveconf", NULL);
	argv[n++] = doveconf;
	if (set->dovecot_config != NULL) {
		argv[n++] = "-c";
		argv[n++] = set->dovecot_config;
	}
	argv[n++] = "-h";
	argv[n++] = "mail_location";
	argv[n] = NULL;
	if (access(doveconf, X_OK) < 0 || pipe(fds) < 0)
		return NULL;
	pid = fork();
	if (pid < 0) {
		i_close_fd(&fds[0]);
		i_close_fd(&fds[1]);
		return NULL;
	}
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);

		if (dup2(fds[1], 1) < 0 || null < 0 || dup2(null, 0) < 0 ||
		    dup2(null, 2) < 0)
			_exit(127);
		i_close_fd(&fds[0]);
		remote_session_env(pw);
		execv(doveconf, (char *const *)argv);
		_exit(127);
	}
	i_close_fd(&fds[1]);
	while (len < sizeof(buf) - 1 &&
	       (r = read(fds[0], buf + len, sizeof(buf) - 1 - len)) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			break;
		len += r;
	}
	i_close_fd(&fds[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return NULL;
	buf[len] = '\0';
	return str_sanitize(t_strcut(buf, '\n'), 300);
}

/* What the session said on stderr, but its Info lines (the logout's
   "Disconnected: Logged out"), each as "dovecot: LINE"; TRUE if any. */
static bool
remote_check_print_stderr(FILE *err)
{
	char line[1024];
	bool printed = FALSE;

	if (err == NULL)
		return FALSE;
	rewind(err);
	while (fgets(line, sizeof(line), err) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		if (strstr(line, ": Info: ") != NULL || line[0] == '\0')
			continue;
		printf("dovecot:      %s\n", str_sanitize(line, 300));
		printed = TRUE;
	}
	fclose(err);
	return printed;
}

/* The mailboxes and their counts; a warning when there is no mail to
   see, which is most often mail kept where mail_location does not say. */
static bool
remote_check_print_mailboxes(ARRAY_TYPE(remote_check_mailbox) * boxes,
                             const char *location)
{
	const struct remote_check_mailbox *box;
	unsigned int count = array_count(boxes), shown = 0;
	unsigned long long total = 0;

	array_foreach(boxes, box) total += box->messages;
	printf("mailboxes:    %u, %llu message%s in all\n", count, total,
	       total == 1 ? "" : "s");
	array_foreach(boxes, box)
	{
		if (shown++ == 20) {
			printf("  ... and %u more\n", count - 20);
			break;
		}
		printf("  %-40s %u\n", str_sanitize(box->name, 40),
		       box->messages);
	}
	if (total > 0)
		return FALSE;
	if (location != NULL && str_begins(location, "mbox:"))
		printf("WARNING: no mail in %s (Debian's default): mail kept "
		       "in a maildir is not seen; set mail_location = "
		       "maildir:~/Maildir (imapsync-remote(1), SETTINGS)\n",
		       location);
	else
		printf("WARNING: no mail in any mailbox: if this account has "
		       "mail, Dovecot looks in the wrong place (set "
		       "mail_location)\n");
	return TRUE;
}

int
remote_session_check(const struct remote_settings *set, const struct passwd *pw)
{
	ARRAY_TYPE(remote_check_mailbox) boxes;
	const char *location;
	FILE *err;
	bool warned;
	ARRAY_TYPE(const_string) caps;
	const char *doveadm, *error, *cap, *missing = NULL;
	int sv[2], status, ret;
	unsigned int i;
	pid_t pid;

	printf("settings:     %s\n",
	       set->path != NULL ? set->path : "(none; defaults)");
	printf("user:         %s (uid %ld), home %s\n", pw->pw_name,
	       (long)pw->pw_uid, pw->pw_dir);
	doveadm = remote_session_find_doveadm(set->doveadm);
	if (doveadm == NULL) {
		i_error("Dovecot's doveadm not found (%s, PATH %s): install "
		        "dovecot-imapd or set doveadm = in the settings",
		        set->doveadm, REMOTE_SESSION_PATH);
		return 3;
	}
	printf("doveadm:      %s\n", doveadm);
	printf("dovecot.conf: %s\n", set->dovecot_config != NULL
	                                 ? set->dovecot_config
	                                 : "(Dovecot's default)");
	location = remote_check_mail_location(set, pw, doveadm);
	printf("mail_location: %s\n",
	       location == NULL      ? "(doveconf could not say)"
	       : location[0] == '\0' ? "(empty: Dovecot looks for the mail "
	                               "itself)"
	                             : location);
	fflush(stdout);
	/* Dovecot's own lines go after the report, not in its middle. */
	err = tmpfile();

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
		i_fatal("socketpair() failed: %m");
	pid = fork();
	if (pid < 0)
		i_fatal("fork() failed: %m");
	if (pid == 0) {
		if (dup2(sv[1], 0) < 0 || dup2(sv[1], 1) < 0 ||
		    (err != NULL && dup2(fileno(err), 2) < 0))
			i_fatal("dup2() failed: %m");
		i_close_fd(&sv[0]);
		i_close_fd(&sv[1]);
		remote_session_exec(set, pw);
	}
	i_close_fd(&sv[1]);
	alarm(REMOTE_CHECK_TIMEOUT_SECS);
	t_array_init(&caps, 32);
	t_array_init(&boxes, 32);
	ret = remote_check_talk(sv[0], &caps, &boxes, &error);
	i_close_fd(&sv[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	alarm(0);
	if (ret < 0) {
		remote_check_print_stderr(err);
		fflush(stdout);
		i_error("%s", error);
		return 3;
	}
	warned = remote_check_print_mailboxes(&boxes, location);

	printf("capabilities:");
	array_foreach_elem(&caps, cap) printf(" %s", str_sanitize(cap, 100));
	printf("\n");
	for (i = 0; i < N_ELEMENTS(remote_check_wanted); i++) {
		const char *name = remote_check_wanted[i].name;
		bool have = remote_check_has(&caps, name);

		printf("  %-12s %s%s\n", name, have ? "yes" : "NO",
		       remote_check_wanted[i].required
		           ? ""
		           : " (optional: saves round trips)");
		if (!have && remote_check_wanted[i].required) {
			missing = missing == NULL
			              ? name
			              : t_strconcat(missing, " ", name, NULL);
		}
	}
	if (missing != NULL) {
		remote_check_print_stderr(err);
		printf("result: missing %s; imapsync needs a Dovecot with "
		       "them (2.2.25 or later)\n",
		       missing);
		return 1;
	}
	if (remote_check_print_stderr(err))
		warned = TRUE;
	printf("result: OK, imapsync can sync with this server%s\n",
	       warned ? " (but see the warnings above)" : "");
	return 0;
}
