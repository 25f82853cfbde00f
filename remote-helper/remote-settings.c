/* SPDX-License-Identifier: GPL-3.0-or-later */
/* remote.conf: "key = value" lines, '#' comments, blank lines. */
#include "lib.h"
#include "istream.h"
#include "str-sanitize.h"

#include "remote-settings.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

/* Longer lines are not settings anyone writes by hand. */
#define REMOTE_SETTINGS_MAX_LINE 4096

static int
remote_settings_check_owner(int fd, const char *path, const char **error_r)
{
	struct stat st;

	if (fstat(fd, &st) < 0) {
		*error_r = t_strdup_printf("fstat(%s) failed: %m", path);
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		*error_r = t_strdup_printf("%s is not a regular file", path);
		return -1;
	}
	if (st.st_uid != 0 && st.st_uid != getuid()) {
		*error_r = t_strdup_printf(
		    "%s belongs to uid %ld, not to root or to this user", path,
		    (long)st.st_uid);
		return -1;
	}
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
		*error_r = t_strdup_printf(
		    "%s is writable by group or others (chmod go-w)", path);
		return -1;
	}
	return 0;
}

static int
remote_settings_line(struct remote_settings *set, const char *line,
                     const char **error_r)
{
	const char *p, *key, *value;

	while (*line == ' ' || *line == '\t')
		line++;
	if (*line == '\0' || *line == '#')
		return 0;
	p = strchr(line, '=');
	if (p == NULL) {
		*error_r = "expected 'key = value'";
		return -1;
	}
	while (p > line && (p[-1] == ' ' || p[-1] == '\t'))
		p--;
	key = t_strdup_until(line, p);
	value = strchr(line, '=') + 1;
	while (*value == ' ' || *value == '\t')
		value++;
	p = value + strlen(value);
	while (p > value && (p[-1] == ' ' || p[-1] == '\t'))
		p--;
	value = p_strdup_until(default_pool, value, p);

	if (strcmp(key, "dovecot_config") == 0) {
		if (value[0] != '/') {
			*error_r = "dovecot_config must be an absolute path";
			return -1;
		}
		set->dovecot_config = value;
	} else if (strcmp(key, "doveadm") == 0) {
		if (value[0] == '\0') {
			*error_r = "doveadm must not be empty";
			return -1;
		}
		set->doveadm = value;
	} else {
		*error_r = t_strdup_printf("unknown setting '%s'",
		                           str_sanitize(key, 64));
		return -1;
	}
	return 0;
}

int
remote_settings_read(const char *path, bool must_exist,
                     struct remote_settings *set_r, const char **error_r)
{
	struct istream *input;
	const char *line, *error;
	unsigned int linenum = 0;
	int fd, ret = 0;

	i_zero(set_r);
	set_r->doveadm = "doveadm";

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		if (errno == ENOENT && !must_exist)
			return 0;
		*error_r = t_strdup_printf("open(%s) failed: %m", path);
		return -1;
	}
	if (remote_settings_check_owner(fd, path, error_r) < 0) {
		i_close_fd(&fd);
		return -1;
	}
	set_r->path = p_strdup(default_pool, path);
	input = i_stream_create_fd_autoclose(&fd, REMOTE_SETTINGS_MAX_LINE);
	while ((line = i_stream_read_next_line(input)) != NULL) {
		linenum++;
		if (remote_settings_line(set_r, line, &error) < 0) {
			*error_r = t_strdup_printf("%s line %u: %s", path,
			                           linenum, error);
			ret = -1;
			break;
		}
	}
	if (ret == 0 && input->stream_errno != 0) {
		*error_r = input->stream_errno == ENOBUFS
		               ? t_strdup_printf("%s line %u: line too long",
		                                 path, linenum + 1)
		               : t_strdup_printf("read(%s) failed: %s", path,
		                                 i_stream_get_error(input));
		ret = -1;
	}
	i_stream_unref(&input);
	return ret;
}
