/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Owner and mode checks of the files the helper reads or runs. */
#include "lib.h"

#include "remote-trust.h"

#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

/* Files Dovecot keeps in a mail store's root or in each mailbox (maildir,
 * sdbox, mdbox, and the mailbox list index), unless told to keep them
 * elsewhere. */
static const char *const remote_trust_store_markers[] = {
    "dovecot-uidvalidity", "dovecot-uidlist",    "dovecot.index",
    "dovecot.index.log",   "dovecot.list.index", "dovecot.list.index.log",
    "dovecot.map.index",   "dovecot-keywords",   NULL,
};

static bool
remote_trust_owner_ok(const struct stat *st)
{
	return st->st_uid == 0 || st->st_uid == getuid();
}

/* path with symlinks resolved, from the data stack; NULL with *error_r. */
static const char *
remote_trust_realpath(const char *path, const char *what, const char **error_r)
{
	char *real = realpath(path, NULL);
	const char *ret;

	if (real == NULL) {
		*error_r = t_strdup_printf("%s %s: %m", what, path);
		return NULL;
	}
	ret = t_strdup(real);
	free(real);
	return ret;
}

/* Each directory from real's parent up to /. */
static int
remote_trust_dirs(const char *real, const char *what, const char *path,
                  const char **error_r)
{
	const char *dir = t_strdup(real), *p;
	struct stat st;

	for (;;) {
		p = strrchr(dir, '/');
		if (p == NULL)
			return 0;
		dir = p == dir ? "/" : t_strdup_until(dir, p);
		if (stat(dir, &st) < 0) {
			*error_r = t_strdup_printf("%s %s: stat(%s) failed: %m",
			                           what, path, dir);
			return -1;
		}
		if (!remote_trust_owner_ok(&st)) {
			*error_r = t_strdup_printf(
			    "%s %s: its directory %s belongs to uid %ld, not "
			    "to root or to this user, who could replace it",
			    what, path, dir, (long)st.st_uid);
			return -1;
		}
		if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0 &&
		    !((st.st_mode & S_ISVTX) != 0 && st.st_uid == 0)) {
			*error_r = t_strdup_printf(
			    "%s %s: its directory %s is writable by group or "
			    "others, who could replace it (chmod go-w %s)",
			    what, path, dir, dir);
			return -1;
		}
		if (strcmp(dir, "/") == 0)
			return 0;
	}
}

int
remote_trust_file(const char *path, const char *what, const char **error_r)
{
	const char *real;
	struct stat st;

	real = remote_trust_realpath(path, what, error_r);
	if (real == NULL)
		return -1;
	if (stat(real, &st) < 0) {
		*error_r =
		    t_strdup_printf("%s %s: stat() failed: %m", what, path);
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		*error_r =
		    t_strdup_printf("%s %s is not a regular file", what, path);
		return -1;
	}
	if (!remote_trust_owner_ok(&st)) {
		*error_r = t_strdup_printf(
		    "%s %s belongs to uid %ld, not to root or to this user",
		    what, path, (long)st.st_uid);
		return -1;
	}
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
		*error_r = t_strdup_printf(
		    "%s %s is writable by group or others (chmod go-w %s)",
		    what, path, real);
		return -1;
	}
	return remote_trust_dirs(real, what, path, error_r);
}

/* The marker in dir that shows a mail store, or NULL. */
static const char *
remote_trust_store_marker(const char *dir)
{
	const char *const *m;
	struct stat st;

	for (m = remote_trust_store_markers; *m != NULL; m++) {
		if (lstat(t_strconcat(dir, "/", *m, NULL), &st) == 0)
			return *m;
	}
	return NULL;
}

/* A maildir's cur, new or tmp: its parent holds all three. */
static bool
remote_trust_maildir_sub(const char *dir)
{
	const char *base = strrchr(dir, '/'), *parent;
	struct stat st;

	if (base == NULL || base == dir)
		return FALSE;
	base++;
	if (strcmp(base, "cur") != 0 && strcmp(base, "new") != 0 &&
	    strcmp(base, "tmp") != 0)
		return FALSE;
	parent = t_strdup_until(dir, base - 1);
	return stat(t_strconcat(parent, "/cur", NULL), &st) == 0 &&
	       stat(t_strconcat(parent, "/new", NULL), &st) == 0 &&
	       stat(t_strconcat(parent, "/tmp", NULL), &st) == 0;
}

int
remote_trust_not_in_mail_store(const char *path, const char **error_r)
{
	const char *real, *dir, *p, *marker;

	real = remote_trust_realpath(path, "settings", error_r);
	if (real == NULL)
		return -1;
	dir = real;
	while ((p = strrchr(dir, '/')) != NULL && p != dir) {
		dir = t_strdup_until(dir, p);
		marker = remote_trust_store_marker(dir);
		if (marker != NULL || remote_trust_maildir_sub(dir)) {
			*error_r = t_strdup_printf(
			    "settings %s are inside a mail store (%s%s%s), "
			    "where mail sent to or stored by the account "
			    "lands: keep them elsewhere, e.g. "
			    "/etc/imapsync/remote.conf",
			    path, dir,
			    marker != NULL ? " holds " : " is a maildir's ",
			    marker != NULL ? marker : "cur/new/tmp");
			return -1;
		}
	}
	return 0;
}
