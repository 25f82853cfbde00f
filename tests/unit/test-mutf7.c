/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "test.h"

#include <stdint.h>
#include <stdlib.h>

#include "buf.h"
#include "limits.h"
#include "mutf7.h"

static struct buf *
encode(const char *utf8, int *ret_r)
{
	struct buf *b = buf_create(IMAP_MAX_MAILBOX_NAME);
	const char *error = NULL;

	*ret_r = mutf7_encode(utf8, strlen(utf8), b, &error);
	if (*ret_r < 0 && error == NULL)
		*ret_r = -2;
	return b;
}

static struct buf *
decode(const char *mutf7, int *ret_r)
{
	struct buf *b = buf_create(IMAP_MAX_MAILBOX_NAME);
	const char *error = NULL;

	*ret_r = mutf7_decode(mutf7, strlen(mutf7), b, &error);
	if (*ret_r < 0 && error == NULL)
		*ret_r = -2;
	return b;
}

/* utf8 and mutf7 are the same name: each converts into the other. */
static void
check_pair(const char *utf8, const char *mutf7)
{
	struct buf *b;
	int ret;

	b = encode(utf8, &ret);
	CHECK_INT_EQ(ret, 0);
	CHECK_STREQ(buf_data(b), mutf7);
	buf_free(&b);
	b = decode(mutf7, &ret);
	CHECK_INT_EQ(ret, 0);
	CHECK_STREQ(buf_data(b), utf8);
	buf_free(&b);
}

static bool
decode_fails(const char *mutf7)
{
	struct buf *b = buf_create(IMAP_MAX_MAILBOX_NAME);
	const char *error = NULL;
	int ret;

	CHECK_INT_EQ(buf_append_str(b, "keep"), 0);
	ret = mutf7_decode(mutf7, strlen(mutf7), b, &error);
	/* A failed call must leave what was there before untouched. */
	CHECK_STREQ(buf_data(b), "keep");
	buf_free(&b);
	return ret == -1 && error != NULL;
}

static bool
encode_fails(const char *utf8, size_t len)
{
	struct buf *b = buf_create(IMAP_MAX_MAILBOX_NAME);
	const char *error = NULL;
	int ret;

	CHECK_INT_EQ(buf_append_str(b, "keep"), 0);
	ret = mutf7_encode(utf8, len, b, &error);
	CHECK_STREQ(buf_data(b), "keep");
	buf_free(&b);
	return ret == -1 && error != NULL;
}

TEST(rfc3501_example)
{
	check_pair("~peter/mail/\xe5\x8f\xb0\xe5\x8c\x97/"
	           "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e",
	           "~peter/mail/&U,BTFw-/&ZeVnLIqe-");
}

TEST(plain_names)
{
	check_pair("", "");
	check_pair("INBOX", "INBOX");
	check_pair("Sent Items/2024", "Sent Items/2024");
	check_pair(" !\"#$%'()*+,-./09:;<=>?@AZ[\\]^_`az{|}~",
	           " !\"#$%'()*+,-./09:;<=>?@AZ[\\]^_`az{|}~");
}

TEST(ampersand)
{
	check_pair("&", "&-");
	check_pair("&&", "&-&-");
	check_pair("Tom & Jerry", "Tom &- Jerry");
	check_pair("a&-b", "a&--b");
	/* An ampersand right after a section is not a second section. */
	check_pair("\xc3\xbc&\xc3\xbc", "&APw-&-&APw-");
}

TEST(latin1_and_bmp)
{
	check_pair("Entw\xc3\xbcrfe", "Entw&APw-rfe");
	check_pair("\xc3\xa9t\xc3\xa9", "&AOk-t&AOk-");
	check_pair("\xc3\xa9\xc3\xa9", "&AOkA6Q-");
	check_pair("\xe2\x82\xac", "&IKw-");
	check_pair("\xef\xbf\xbd", "&,,0-");
}

TEST(controls_are_encoded)
{
	check_pair("a\tb", "a&AAk-b");
	check_pair("\x7f", "&AH8-");
	check_pair("\x01\x1f", "&AAEAHw-");
}

TEST(surrogate_pairs)
{
	/* U+1F600 is D83D DE00; U+10FFFF is DBFF DFFF. */
	check_pair("\xf0\x9f\x98\x80", "&2D3eAA-");
	check_pair("x\xf0\x9f\x98\x80y\xf4\x8f\xbf\xbf", "x&2D3eAA-y&2,,f,w-");
	check_pair("\xf0\x90\x80\x80", "&2ADcAA-");
}

TEST(encode_rejects_bad_utf8)
{
	CHECK(encode_fails("a\0b", 3));
	CHECK(encode_fails("\xc0\xaf", 2));                 /* overlong '/' */
	CHECK(encode_fails("\xc1\xbf", 2));                 /* overlong */
	CHECK(encode_fails("\xe0\x80\xaf", 3));             /* overlong */
	CHECK(encode_fails("\xe0\x9f\xbf", 3));             /* overlong */
	CHECK(encode_fails("\xf0\x80\x80\xaf", 4));         /* overlong */
	CHECK(encode_fails("\xf0\x8f\xbf\xbf", 4));         /* overlong */
	CHECK(encode_fails("\xed\xa0\x80", 3));             /* D800 */
	CHECK(encode_fails("\xed\xbf\xbf", 3));             /* DFFF */
	CHECK(encode_fails("\xed\xa0\xbd\xed\xb8\x80", 6)); /* CESU-8 */
	CHECK(encode_fails("\xf4\x90\x80\x80", 4));         /* U+110000 */
	CHECK(encode_fails("\xf5\x80\x80\x80", 4));
	CHECK(encode_fails("\xff", 1));
	CHECK(encode_fails("\xc3", 1)); /* truncated */
	CHECK(encode_fails("a\xe2\x82", 3));
	CHECK(encode_fails("\xf0\x9f\x98", 3));
	CHECK(encode_fails("\x80", 1)); /* stray */
	CHECK(encode_fails("ab\xbf", 3));
	CHECK(encode_fails("\xc3\xbc\xbc", 3));
	CHECK(encode_fails("\xc3(", 2));
	CHECK(encode_fails("\xe2(\xa1", 3));
}

TEST(decode_rejects_bad_bytes)
{
	CHECK(decode_fails("caf\xc3\xa9"));
	CHECK(decode_fails("a\tb"));
	CHECK(decode_fails("a\x7f"));
	CHECK(decode_fails("\x80"));
	CHECK(decode_fails("&AOk\x80-"));
}

TEST(decode_rejects_bad_sections)
{
	CHECK(decode_fails("&")); /* unterminated */
	CHECK(decode_fails("a&AOk"));
	CHECK(decode_fails("&AOk-&"));
	CHECK(decode_fails("&AO="));   /* bad base64 */
	CHECK(decode_fails("&AO/k-")); /* "/" is plain base64 */
	CHECK(decode_fails("&AOk=-")); /* padding */
	CHECK(decode_fails("&A-"));    /* not a whole unit */
	CHECK(decode_fails("&AO-"));
	CHECK(decode_fails("&AOkA-"));
	CHECK(decode_fails("&AOkA6-"));
	CHECK(decode_fails("&AOkA6QA-"));
	CHECK(decode_fails("&AOl-")); /* padding bits not zero */
	CHECK(decode_fails("&AOkA6R-"));
	CHECK(decode_fails("&AGE-"));      /* encoded 'a' */
	CHECK(decode_fails("&ACY-"));      /* encoded '&' */
	CHECK(decode_fails("&ACA-"));      /* encoded ' ' */
	CHECK(decode_fails("&AH4-"));      /* encoded '~' */
	CHECK(decode_fails("&AOkAYQ-"));   /* 'a' inside a section */
	CHECK(decode_fails("&AAA-"));      /* NUL */
	CHECK(decode_fails("&AOk-&AOk-")); /* back to back */
	CHECK(decode_fails("&AH8-&AH8-"));
}

TEST(decode_rejects_broken_surrogates)
{
	CHECK(decode_fails("&2D0-"));      /* high alone */
	CHECK(decode_fails("&3gA-"));      /* low alone */
	CHECK(decode_fails("&2D3YPQ-"));   /* high, high */
	CHECK(decode_fails("&2D0A6Q-"));   /* high, BMP */
	CHECK(decode_fails("&3gDYPQ-"));   /* low, high */
	CHECK(decode_fails("&2D0-&3gA-")); /* pair split in two */
	CHECK(decode_fails("&2D3eAN4A-")); /* pair, then low */
}

TEST(cap_reached)
{
	struct buf *b = buf_create(10);
	const char *error = NULL;

	CHECK_INT_EQ(mutf7_encode("0123456789", 10, b, &error), 0);
	CHECK_INT_EQ(buf_len(b), 10);
	buf_reset(b);
	CHECK_INT_EQ(mutf7_encode("01234567890", 11, b, &error), -1);
	CHECK(error != NULL);
	CHECK_INT_EQ(buf_len(b), 0);
	/* Here the cap falls inside the base64. */
	error = NULL;
	CHECK_INT_EQ(mutf7_encode("ab\xc3\xa9\xc3\xa9\xc3\xa9", 8, b, &error), -1);
	CHECK(error != NULL);
	CHECK_INT_EQ(buf_len(b), 0);
	CHECK_INT_EQ(buf_append_str(b, "12345"), 0);
	error = NULL;
	CHECK_INT_EQ(mutf7_decode("&AOkA6QDp-", 10, b, &error), -1);
	CHECK(error != NULL);
	CHECK_STREQ(buf_data(b), "12345");
	CHECK_INT_EQ(mutf7_decode("&AOk-", 5, b, &error), 0);
	CHECK_STREQ(buf_data(b), "12345\xc3\xa9");
	buf_free(&b);
}

TEST(name_length_limit)
{
	struct buf *b = buf_create(8 * IMAP_MAX_MAILBOX_NAME);
	const char *error = NULL;
	char *s = malloc(IMAP_MAX_MAILBOX_NAME + 1);
	size_t i;

	memset(s, 'a', IMAP_MAX_MAILBOX_NAME + 1);
	CHECK_INT_EQ(mutf7_encode(s, IMAP_MAX_MAILBOX_NAME, b, &error), 0);
	CHECK_INT_EQ(buf_len(b), IMAP_MAX_MAILBOX_NAME);
	CHECK_INT_EQ(mutf7_encode(s, IMAP_MAX_MAILBOX_NAME + 1, b, &error), -1);
	CHECK_INT_EQ(mutf7_decode(s, IMAP_MAX_MAILBOX_NAME + 1, b, &error), -1);
	CHECK_INT_EQ(buf_len(b), IMAP_MAX_MAILBOX_NAME);
	/* Short in UTF-8, too long once encoded: tabs take 8/3 bytes. */
	buf_reset(b);
	for (i = 0; i < 2000; i++)
		s[i] = '\t';
	CHECK_INT_EQ(mutf7_encode(s, 2000, b, &error), -1);
	CHECK_INT_EQ(buf_len(b), 0);
	free(s);
	buf_free(&b);
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint32_t
rng(void)
{
	/* xorshift64*: fixed seed, so a failure can be replayed. */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * 0x2545f4914f6cdd1dULL) >> 32);
}

static uint32_t
random_code_point(void)
{
	uint32_t cp;

	switch (rng() % 6) {
	case 0:
	case 1:
		return 0x20 + rng() % 0x5f;
	case 2:
		return 1 + rng() % 0x7f;
	case 3:
		return 0x80 + rng() % 0x780;
	case 4:
		do
			cp = 0x800 + rng() % 0xf800;
		while (cp >= 0xd800 && cp <= 0xdfff);
		return cp;
	default:
		return 0x10000 + rng() % 0x100000;
	}
}

static size_t
put_utf8(char *p, uint32_t cp)
{
	if (cp < 0x80) {
		p[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		p[0] = (char)(0xc0 | (cp >> 6));
		p[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		p[0] = (char)(0xe0 | (cp >> 12));
		p[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		p[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	p[0] = (char)(0xf0 | (cp >> 18));
	p[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	p[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	p[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

TEST(random_round_trip)
{
	struct buf *enc = buf_create(IMAP_MAX_MAILBOX_NAME);
	struct buf *dec = buf_create(IMAP_MAX_MAILBOX_NAME);
	struct buf *again = buf_create(IMAP_MAX_MAILBOX_NAME);
	const char *error;
	char s[40 * 4];
	size_t len, i, n;
	int iter, bad = 0;

	for (iter = 0; iter < 5000; iter++) {
		n = rng() % 40;
		len = 0;
		for (i = 0; i < n; i++)
			len += put_utf8(s + len, random_code_point());
		buf_reset(enc);
		buf_reset(dec);
		buf_reset(again);
		error = NULL;
		if (mutf7_encode(s, len, enc, &error) < 0 ||
		    mutf7_decode(buf_data(enc), buf_len(enc), dec, &error) <
		        0 ||
		    buf_len(dec) != len || memcmp(buf_data(dec), s, len) != 0 ||
		    mutf7_encode(buf_data(dec), buf_len(dec), again, &error) <
		        0 ||
		    strcmp(buf_data(again), buf_data(enc)) != 0) {
			bad++;
			continue;
		}
		/* The encoded form is always printable ASCII. */
		for (i = 0; i < buf_len(enc); i++) {
			if (buf_data(enc)[i] < 0x20 || buf_data(enc)[i] > 0x7e)
				bad++;
		}
	}
	CHECK_INT_EQ(bad, 0);
	buf_free(&enc);
	buf_free(&dec);
	buf_free(&again);
}
