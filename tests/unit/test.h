/* SPDX-License-Identifier: GPL-3.0-or-later */
/* A small unit test harness printing TAP: each TEST() is one case, each
 * failed CHECK() one diagnostic, with both values (OpenSSH test_helper's
 * style): CHECK_STREQ and CHECK_MEMEQ print both strings and their
 * lengths, CHECK_INT_EQ both numbers. Link with test-main.c. */
#ifndef TESTS_TEST_H
#define TESTS_TEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

typedef void test_fn(void);
void test_register(const char *name, test_fn *fn);
bool test_check(bool ok, const char *expr, const char *file, int line);
bool test_check_str(const char *a, const char *b, const char *aexpr,
                    const char *bexpr, const char *file, int line);
bool test_check_mem(const void *a, size_t alen, const void *b, size_t blen,
                    const char *aexpr, const char *bexpr, const char *file,
                    int line);
bool test_check_int(bool ok, bool is_unsigned, long long a, long long b,
                    const char *aexpr, const char *bexpr, const char *file,
                    int line);

#define TEST(name)                                                         \
	static void test_##name(void);                                     \
	__attribute__((constructor)) static void test_register_##name(void) \
	{                                                                  \
		test_register(#name, test_##name);                         \
	}                                                                  \
	static void test_##name(void)

#define CHECK(expr) test_check(!!(expr), #expr, __FILE__, __LINE__)
/* Both NUL-terminated (NULL is a failure, printed as NULL). */
#define CHECK_STREQ(a, b) test_check_str((a), (b), #a, #b, __FILE__, __LINE__)
#define CHECK_MEMEQ(a, alen, b, blen)                                       \
	test_check_mem((a), (alen), (b), (blen), #a, #b, __FILE__, __LINE__)
/* a == b compared in the type C compares them in (each evaluated once);
 * integers, enums and bools. */
#define CHECK_INT_EQ(a, b)                                                  \
	__extension__({                                                     \
		__typeof__((a) + (b)) test_a_ = (a), test_b_ = (b);         \
		test_check_int(test_a_ == test_b_,                          \
		               (__typeof__(test_a_))-1 > 0,                 \
		               (long long)test_a_, (long long)test_b_, #a,  \
		               #b, __FILE__, __LINE__);                      \
	})

#endif
