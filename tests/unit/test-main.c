/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "test.h"

#include <stdlib.h>

#define TEST_MAX 1024

static struct {
	const char *name;
	test_fn *fn;
} tests[TEST_MAX];
static int ntests;
static int failures;

void
test_register(const char *name, test_fn *fn)
{
	if (ntests == TEST_MAX) {
		fprintf(stderr, "too many tests\n");
		abort();
	}
	tests[ntests].name = name;
	tests[ntests].fn = fn;
	ntests++;
}

bool
test_check(bool ok, const char *expr, const char *file, int line)
{
	if (!ok) {
		printf("# %s:%d: check failed: %s\n", file, line, expr);
		failures++;
	}
	return ok;
}

/* A value for a diagnostic: quoted, escaped, cut after 200 bytes. */
static void
test_print_mem(const char *expr, const void *p, size_t len, bool is_str)
{
	const unsigned char *s = p;
	size_t i;

	printf("#   %s = ", expr);
	if (p == NULL) {
		printf("NULL\n");
		return;
	}
	putchar('"');
	for (i = 0; i < len && i < 200; i++) {
		if (s[i] == '"' || s[i] == '\\')
			printf("\\%c", s[i]);
		else if (s[i] >= 0x20 && s[i] < 0x7f)
			putchar(s[i]);
		else if (s[i] == '\n')
			printf("\\n");
		else if (s[i] == '\r')
			printf("\\r");
		else
			printf("\\x%02x", s[i]);
	}
	printf("\"%s (%s %zu)\n", i < len ? "..." : "",
	       is_str ? "strlen" : "len", len);
}

bool
test_check_str(const char *a, const char *b, const char *aexpr,
               const char *bexpr, const char *file, int line)
{
	bool ok = a != NULL && b != NULL && strcmp(a, b) == 0;

	if (!ok) {
		printf("# %s:%d: check failed: %s == %s\n", file, line, aexpr,
		       bexpr);
		test_print_mem(aexpr, a, a != NULL ? strlen(a) : 0, true);
		test_print_mem(bexpr, b, b != NULL ? strlen(b) : 0, true);
		failures++;
	}
	return ok;
}

bool
test_check_mem(const void *a, size_t alen, const void *b, size_t blen,
               const char *aexpr, const char *bexpr, const char *file,
               int line)
{
	bool ok = alen == blen && (alen == 0 || memcmp(a, b, alen) == 0);

	if (!ok) {
		printf("# %s:%d: check failed: %s == %s\n", file, line, aexpr,
		       bexpr);
		test_print_mem(aexpr, a, alen, false);
		test_print_mem(bexpr, b, blen, false);
		failures++;
	}
	return ok;
}

bool
test_check_int(bool ok, bool is_unsigned, long long a, long long b,
               const char *aexpr, const char *bexpr, const char *file,
               int line)
{
	if (!ok) {
		printf("# %s:%d: check failed: %s == %s\n", file, line, aexpr,
		       bexpr);
		if (is_unsigned) {
			printf("#   %s = %llu\n", aexpr, (unsigned long long)a);
			printf("#   %s = %llu\n", bexpr, (unsigned long long)b);
		} else {
			printf("#   %s = %lld\n", aexpr, a);
			printf("#   %s = %lld\n", bexpr, b);
		}
		failures++;
	}
	return ok;
}

int
main(int argc, char **argv)
{
	int i, failed = 0;
	const char *only = argc > 1 ? argv[1] : NULL;

	printf("1..%d\n", ntests);
	for (i = 0; i < ntests; i++) {
		int before = failures;

		if (only != NULL && strcmp(only, tests[i].name) != 0) {
			printf("ok %d - %s # SKIP not selected\n", i + 1,
			       tests[i].name);
			continue;
		}
		tests[i].fn();
		if (failures != before)
			failed++;
		printf("%s %d - %s\n", failures == before ? "ok" : "not ok",
		       i + 1, tests[i].name);
		fflush(stdout);
	}
	return failed == 0 ? 0 : 1;
}
