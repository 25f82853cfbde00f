/* A small unit test harness printing TAP: each TEST() is one case, each
 * failed CHECK() one diagnostic line. Link with test-main.c. */
#ifndef TESTS_TEST_H
#define TESTS_TEST_H

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

typedef void test_fn(void);
void test_register(const char *name, test_fn *fn);
bool test_check(bool ok, const char *expr, const char *file, int line);

#define TEST(name)                                                         \
	static void test_##name(void);                                     \
	__attribute__((constructor)) static void test_register_##name(void) \
	{                                                                  \
		test_register(#name, test_##name);                         \
	}                                                                  \
	static void test_##name(void)

#define CHECK(expr) test_check(!!(expr), #expr, __FILE__, __LINE__)
#define CHECK_STREQ(a, b)                                                  \
	test_check((a) != NULL && (b) != NULL && strcmp((a), (b)) == 0,    \
		   #a " == " #b, __FILE__, __LINE__)
#define CHECK_MEMEQ(a, alen, b, blen)                                       \
	test_check((alen) == (blen) && memcmp((a), (b), (alen)) == 0,       \
		   #a " == " #b, __FILE__, __LINE__)

#endif
