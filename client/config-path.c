/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Where the files are: the config file and the database under the XDG
 * base directories, and config_database_check(), which refuses a
 * database path someone else could redirect. */
#include "config-private.h"

#include "xmalloc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* XDG base directory: $VAR/imapsync/rel, or ~/dflt/imapsync/rel. The XDG
 * spec says to ignore empty and relative values of $VAR. */
static int
xdg_path(const char *var, const char *dflt, const char *rel, char **path_r,
         const char **error_r)
{
	const char *base = getenv(var), *home;

	if (rel[0] == '/') {
		*path_r = xstrdup(rel);
		return 0;
	}
	if (base != NULL && base[0] == '/')
		*path_r = xasprintf("%s/imapsync/%s", base, rel);
	else {
		home = getenv("HOME");
		if (home == NULL || home[0] != '/')
			return config_fail(error_r,
			                   "neither $%s nor $HOME is set "
			                   "to an absolute directory",
			                   var);
		*path_r = xasprintf("%s/%s/imapsync/%s", home, dflt, rel);
	}
	return 0;
}

int
config_resolve_path(const char *arg, char **path_r, const char **error_r)
{
	if (arg == NULL)
		arg = "config";
	if (arg[0] == '\0')
		return config_fail(error_r, "empty config file name");
	return xdg_path("XDG_CONFIG_HOME", ".config", arg, path_r, error_r);
}

int
config_database_path(const struct config *config, char **path_r,
                     const char **error_r)
{
	char *name;
	int ret;

	if (config->database != NULL)
		return xdg_path("XDG_DATA_HOME", ".local/share",
		                config->database, path_r, error_r);
	/* interimap: [remote]'s host, whose default is "localhost"; the
	 * [local] fallback it also has cannot apply, as both sections are
	 * required. */
	name = xasprintf("%s.db", config->side[SIDE_REMOTE].host);
	ret = xdg_path("XDG_DATA_HOME", ".local/share", name, path_r, error_r);
	free(name);
	return ret;
}

int
config_database_check(const char *path, const char **error_r)
{
	const char *slash = strrchr(path, '/');
	char *dir;
	struct stat st;

	if (lstat(path, &st) == 0) {
		if (S_ISLNK(st.st_mode))
			return config_fail(
			    error_r,
			    "database %s is a symbolic link: imapsync "
			    "does not follow it (set database = to the "
			    "file it points to)",
			    path);
		if (!S_ISREG(st.st_mode))
			return config_fail(
			    error_r, "database %s is not a regular file", path);
	} else if (errno != ENOENT) {
		return config_fail(error_r, "database %s: %s", path,
		                   strerror(errno));
	}
	if (slash == NULL)
		return 0;
	dir = slash == path ? xstrdup("/") : xstrndup(path, slash - path);
	/* A directory imapsync creates is 0700; one that exists already is
	 * whatever it is. */
	if (stat(dir, &st) < 0) {
		free(dir);
		return 0;
	}
	if (st.st_uid != 0 && st.st_uid != geteuid()) {
		config_fail(
		    error_r,
		    "database directory %s belongs to uid %ld, not to you: "
		    "its owner could replace the database (set database = "
		    "to a file in a directory of yours)",
		    dir, (long)st.st_uid);
		free(dir);
		return -1;
	}
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
		config_fail(
		    error_r,
		    "database directory %s is writable by group or others, "
		    "who could replace the database or plant files next to "
		    "it (chmod go-w %s)",
		    dir, dir);
		free(dir);
		return -1;
	}
	free(dir);
	return 0;
}
