/* SPDX-License-Identifier: GPL-3.0-or-later */
/* What the parts of config_load() share: the values as read, section by
 * section, before they are checked and built into a struct config.
 * Which file owns what:
 *
 * - config.c: config_load() and config_free(), building struct config
 *   from the values read, the warnings, and config_fail(), the error text.
 * - config-keys.c: the keys (the keys[] table), the checks of their
 *   values, and config_check_supported().
 * - config-parse.c: reading the file and its Config::Tiny syntax into
 *   struct config_parse; list-mailbox's words.
 * - config-path.c: the config file's and the database's paths.
 *
 * Errors follow config.h: -1 and *error_r, "FILE:LINE: what is wrong",
 * in config_fail()'s static buffer. */
#ifndef CLIENT_CONFIG_PRIVATE_H
#define CLIENT_CONFIG_PRIVATE_H

#include "config.h"

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

/* The sections read: the default one, then [local] and [remote] (indexed
 * by enum side + 1). Others are ignored, as interimap does. */
#define SECTION_DEFAULT 0
#define SECTION_COUNT (1 + SIDE_COUNT)
#define SECTION_OTHER (-1)

struct raw_value {
	char *value;
	unsigned line;
};

struct config_parse {
	const char *path;
	struct raw_value raw[SECTION_COUNT][CONFIG_KEY_COUNT];
	unsigned section_line[SECTION_COUNT];
	struct config *config;
};

/* config.c */
int config_fail(const char **error_r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Wipe s (a value that may be a secret) and free it; NULL is fine. */
void config_wipe_free(char *s);
void config_add_warning(struct config *config, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* config-keys.c */
int config_parse_percent(const char *v, unsigned *percent_r);
int config_find_key(const char *name, size_t len);
const char *config_suggest_key(const char *name, size_t len);
int config_check_values(struct config_parse *p, const char **error_r);
void config_warn_ignored(struct config_parse *p);

/* config-parse.c */
int config_parse_text(struct config_parse *p, char *text, size_t len,
                      const char **error_r);
int config_parse_list_mailbox(struct config *config, const char *v);
int config_read_file(const char *path, char **text_r, size_t *len_r,
                     struct stat *st_r, const char **error_r);

#endif
