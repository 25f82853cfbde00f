/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The imap_arg_* decoding helpers declared in imap-parser.h. */
#include "imap-parser.h"

#include <strings.h>

bool
imap_arg_is_atom(const struct imap_arg *arg, const char *atom)
{
	return arg->type == IMAP_ARG_ATOM && strcasecmp(arg->str, atom) == 0;
}

bool
imap_arg_get_astring(const struct imap_arg *arg, const char **str_r)
{
	if ((arg->type != IMAP_ARG_ATOM && arg->type != IMAP_ARG_STRING &&
	     arg->type != IMAP_ARG_LITERAL) ||
	    arg->str == NULL)
		return false;
	*str_r = arg->str;
	return true;
}

bool
imap_arg_get_nstring(const struct imap_arg *arg, const char **str_r)
{
	if (arg->type == IMAP_ARG_NIL) {
		*str_r = NULL;
		return true;
	}
	return imap_arg_get_astring(arg, str_r);
}

bool
imap_arg_get_uint64(const struct imap_arg *arg, uint64_t *num_r)
{
	uint64_t n = 0, d;
	size_t i;

	if (arg->type != IMAP_ARG_ATOM || arg->len == 0 || arg->len > 20)
		return false;
	for (i = 0; i < arg->len; i++) {
		if (arg->str[i] < '0' || arg->str[i] > '9')
			return false;
		d = (uint64_t)(arg->str[i] - '0');
		if (n > (UINT64_MAX - d) / 10)
			return false;
		n = n * 10 + d;
	}
	*num_r = n;
	return true;
}

bool
imap_arg_get_uint32(const struct imap_arg *arg, uint32_t *num_r)
{
	uint64_t n;

	if (!imap_arg_get_uint64(arg, &n) || n > UINT32_MAX)
		return false;
	*num_r = (uint32_t)n;
	return true;
}

bool
imap_arg_get_list(const struct imap_arg *arg, const struct imap_arg **list_r,
                  size_t *count_r)
{
	if (arg->type != IMAP_ARG_LIST)
		return false;
	*list_r = arg->list;
	*count_r = arg->len;
	return true;
}
