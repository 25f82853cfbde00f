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
