/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "test.h"

#include "sasl.h"

#include <stdlib.h>

/* RFC 7677 section 3. */
#define RFC_NONCE "rOprNGfwEbeRWgbNEkqO"
#define RFC_SERVER_FIRST                                                       \
	"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"                \
	"s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
#define RFC_CLIENT_FINAL                                                       \
	"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"         \
	"p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
#define RFC_SERVER_FINAL "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="

TEST(plain)
{
	char *m = sasl_plain(NULL, "tim", "tanstaaftanstaaf");

	/* RFC 4616 section 4's example */
	CHECK_STREQ(m, "AHRpbQB0YW5zdGFhZnRhbnN0YWFm");
	sasl_free_secret(m);
	m = sasl_plain("admin", "u", "p");
	CHECK_STREQ(m, "YWRtaW4AdQBw");
	sasl_free_secret(m);
}

TEST(base64_roundtrip_and_limits)
{
	char *enc = sasl_base64_encode("hello\0x", 7), *dec = NULL;
	size_t len = 0;

	CHECK_STREQ(enc, "aGVsbG8AeA==");
	CHECK_INT_EQ(sasl_base64_decode(enc, strlen(enc), &dec, &len), 0);
	CHECK_MEMEQ(dec, len, "hello\0x", (size_t)7);
	sasl_free_secret(enc);
	free(dec);
	CHECK_INT_EQ(sasl_base64_decode("a b", 3, &dec, &len), -1);
	CHECK_INT_EQ(sasl_base64_decode("aGVsbG8", 7, &dec, &len), -1);
	enc = calloc(1, 20000);
	memset(enc, 'A', 16000);
	CHECK_INT_EQ(sasl_base64_decode(enc, 16000, &dec, &len), -1);
	free(enc);
}

TEST(scram_rfc7677_vector)
{
	struct sasl_scram *s = sasl_scram_create("user", "pencil", RFC_NONCE);
	const char *error = NULL;
	char *first, *final;

	first = sasl_scram_client_first(s);
	CHECK_STREQ(first, "n,,n=user,r=" RFC_NONCE);
	final = sasl_scram_client_final(s, RFC_SERVER_FIRST,
	                                strlen(RFC_SERVER_FIRST), &error);
	CHECK_STREQ(final, RFC_CLIENT_FINAL);
	CHECK(sasl_scram_server_final(s, RFC_SERVER_FINAL,
	                              strlen(RFC_SERVER_FINAL), &error) == 0);
	CHECK_INT_EQ(sasl_scram_server_final(s, "v=AAAA", 6, &error), -1);
	CHECK(strstr(error, "signature") != NULL);
	CHECK_INT_EQ(sasl_scram_server_final(s, "e=invalid-proof", 15, &error), -1);
	CHECK(strstr(error, "invalid-proof") != NULL);
	free(first);
	sasl_free_secret(final);
	sasl_scram_free(&s);
	CHECK(s == NULL);
}

TEST(scram_refuses_bad_server_first)
{
	struct sasl_scram *s = sasl_scram_create("a,b=c", "pw", NULL);
	const char *error = NULL;
	char *first = sasl_scram_client_first(s), msg[256];

	CHECK(strncmp(first, "n,,n=a=2Cb=3Dc,r=", 17) == 0);
	CHECK_INT_EQ(strlen(first), 17 + 32);
	/* a nonce that does not extend ours */
	CHECK(sasl_scram_client_final(s, "r=xyz,s=QUJD,i=4096", 19, &error) ==
	      NULL);
	CHECK(strstr(error, "nonce") != NULL);
	snprintf(msg, sizeof(msg), "r=%sX,s=QUJD,i=100000000", first + 17);
	CHECK(sasl_scram_client_final(s, msg, strlen(msg), &error) == NULL);
	CHECK(strstr(error, "iterations") != NULL);
	snprintf(msg, sizeof(msg), "r=%sX,s=QUJD,i=-1", first + 17);
	CHECK(sasl_scram_client_final(s, msg, strlen(msg), &error) == NULL);
	snprintf(msg, sizeof(msg), "r=%sX,s=,i=1", first + 17);
	CHECK(sasl_scram_client_final(s, msg, strlen(msg), &error) == NULL);
	CHECK(sasl_scram_client_final(s, "m=ext,r=a", 9, &error) == NULL);
	CHECK(strstr(error, "extension") != NULL);
	/* no proof computed: the server-final cannot be accepted */
	CHECK_INT_EQ(sasl_scram_server_final(s, "v=AAAA", 6, &error), -1);
	free(first);
	sasl_scram_free(&s);
}
