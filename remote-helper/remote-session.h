/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Starting Dovecot's imap, pre-authenticated, for the calling user. */
#ifndef REMOTE_SESSION_H
#define REMOTE_SESSION_H

struct passwd;
struct remote_settings;

/* The PATH the session gets: Dovecot is found there, nothing else. */
#define REMOTE_SESSION_PATH "/usr/local/bin:/usr/bin:/bin"

/* Replace this process with `doveadm [-c CONF] exec imap`, the documented
 * way for a logged-in system user to start a pre-authenticated session
 * (doveadm-exec(1)); doveadm in turn execs imap, so no process of ours
 * stays between sshd and Dovecot. The environment is cleared to PATH,
 * USER, LOGNAME, HOME (and TZ if it was set). Does not return: exits
 * with a fatal error if the exec fails. */
void remote_session_exec(const struct remote_settings *set,
                         const struct passwd *pw) ATTR_NORETURN;

/* Where execvp() would find doveadm (a path, or a name looked up in
 * REMOTE_SESSION_PATH), from the data stack; NULL if not there. */
const char *remote_session_find_doveadm(const char *doveadm);

/* For --check: start a session as remote_session_exec() would, ask for its
 * CAPABILITY, print it and whether each capability imapsync needs is
 * there. Returns the exit status: 0 all there, 1 some missing, 3 the
 * session could not be started or answered nonsense. */
int remote_session_check(const struct remote_settings *set,
                         const struct passwd *pw);

#endif
