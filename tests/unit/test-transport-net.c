/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "test.h"

#include "transport.h"

#include <errno.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

/* A transport over two memory buffers: reads take from in, writes append
 * to out. */
struct mem {
	struct transport t;
	unsigned char in[65536], out[65536];
	size_t in_len, in_off, out_len;
};

static ssize_t
mem_read(struct transport *t, void *data, size_t len)
{
	struct mem *m = (struct mem *)t;
	size_t n = m->in_len - m->in_off;

	if (n == 0) {
		errno = EAGAIN;
		return -1;
	}
	if (n > len)
		n = len;
	memcpy(data, m->in + m->in_off, n);
	m->in_off += n;
	t->wire_in += n;
	return n;
}

static ssize_t
mem_write(struct transport *t, const void *data, size_t len)
{
	struct mem *m = (struct mem *)t;

	if (len > sizeof(m->out) - m->out_len)
		len = sizeof(m->out) - m->out_len;
	memcpy(m->out + m->out_len, data, len);
	m->out_len += len;
	t->wire_out += len;
	return len;
}

static short
mem_events(struct transport *t, bool want_write)
{
	return POLLIN | (want_write ? POLLOUT : 0);
}

static int
mem_fd(struct transport *t)
{
	return -1;
}

static void
mem_destroy(struct transport *t)
{
	free(t);
}

static const struct transport_vfuncs mem_vfuncs = {
    .read = mem_read,
    .write = mem_write,
    .events = mem_events,
    .fd = mem_fd,
    .destroy = mem_destroy,
};

static struct mem *
mem_new(void)
{
	struct mem *m = calloc(1, sizeof(*m));

	m->t.v = &mem_vfuncs;
	return m;
}

TEST(deflate_roundtrip)
{
	struct mem *a = mem_new(), *b = mem_new();
	const char *error;
	struct transport *ta = transport_deflate_create(&a->t, &error);
	struct transport *tb = transport_deflate_create(&b->t, &error);
	static char text[30000], got[30000];
	size_t n = 0, off = 0;
	ssize_t r;

	for (size_t i = 0; i < sizeof(text); i++)
		text[i] = "A1 FETCH 1:* (FLAGS)\r\n"[i % 22];
	while (off < sizeof(text)) {
		r = transport_write(ta, text + off, sizeof(text) - off);
		CHECK(r > 0);
		if (r <= 0)
			break;
		off += r;
	}
	CHECK_INT_EQ(transport_flush(ta), 0);
	CHECK(a->out_len > 0 && a->out_len < sizeof(text) / 10);
	/* the payload counter is above, the wire one below */
	CHECK_INT_EQ(ta->wire_out, a->out_len);
	memcpy(b->in, a->out, a->out_len);
	b->in_len = a->out_len;
	while (n < sizeof(got)) {
		r = transport_read(tb, got + n, 1000);
		if (r <= 0)
			break;
		n += r;
	}
	CHECK_MEMEQ(got, n, text, sizeof(text));
	CHECK(transport_read(tb, got, 10) == -1 && errno == EAGAIN);
	transport_free(&ta);
	transport_free(&tb);
	CHECK(ta == NULL);
}

TEST(deflate_refuses_garbage)
{
	struct mem *m = mem_new();
	const char *error;
	struct transport *t = transport_deflate_create(&m->t, &error);
	char buf[64];

	memcpy(m->in, "\xff\xff\xff\xff garbage", 12);
	m->in_len = 12;
	CHECK_INT_EQ(transport_read(t, buf, sizeof(buf)), -1);
	CHECK(strstr(transport_error(t), "COMPRESS") != NULL);
	transport_free(&t);
}

TEST(socks5_handshake)
{
	struct mem *m = mem_new();
	const char *error;
	struct transport *t;
	static const unsigned char reply[] = {
	    5,   2, /* user/password */
	    1,   0, /* accepted */
	    5,   0,   0,   3,   4,    'h',
	    'o', 's', 't', 0,   143, /* bound by name */
	    '*', ' ', 'O', 'K', '\r', '\n'};
	static const unsigned char want[] = {
	    5,   2,   0,   2,             /* greeting */
	    1,   1,   'u', 2,   'p', 'w', /* RFC 1929 */
	    5,   1,   0,   3,   9,   'l', 'o', 'c',
	    'a', 'l', 'h', 'o', 's', 't', 0,   143};
	char buf[64];
	ssize_t n;

	t = transport_socks5_create(&m->t, "localhost", "143", "u", "pw", true,
	                            &error);
	CHECK(t != NULL);
	memcpy(m->in, reply, sizeof(reply));
	m->in_len = sizeof(reply);
	n = transport_read(t, buf, sizeof(buf));
	CHECK_MEMEQ(buf, (size_t)(n > 0 ? n : 0), "* OK\r\n", (size_t)6);
	CHECK_MEMEQ(m->out, m->out_len, want, sizeof(want));
	transport_free(&t);
}

TEST(socks5_refusal)
{
	struct mem *m = mem_new();
	const char *error;
	struct transport *t;
	static const unsigned char reply[] = {5, 0, 5, 5, 0, 1,
	                                      0, 0, 0, 0, 0, 0};
	char buf[8];

	t = transport_socks5_create(&m->t, "127.0.0.1", "993", NULL, NULL,
	                            false, &error);
	memcpy(m->in, reply, sizeof(reply));
	m->in_len = sizeof(reply);
	CHECK_INT_EQ(transport_read(t, buf, sizeof(buf)), -1);
	CHECK_STREQ(transport_error(t), "SOCKS5 proxy: cannot connect to "
	                                "127.0.0.1 port 993: connection "
	                                "refused");
	/* the request named the address: ATYP 1 */
	CHECK(m->out_len == 3 + 10 && m->out[6] == 1 && m->out[7] == 127);
	transport_free(&t);
	/* a port that is not a number: refused, lower left to the caller */
	m = mem_new();
	CHECK(transport_socks5_create(&m->t, "h", "imap", NULL, NULL, true,
	                              &error) == NULL);
	CHECK(strstr(error, "numeric port") != NULL);
	free(m);
}

TEST(socks5_reply_len)
{
	size_t need = 0;

	CHECK(transport_socks5_reply_len((const unsigned char *)"\5\0", 2,
	                                 &need) == 0 &&
	      need == 5);
	CHECK(transport_socks5_reply_len(
	          (const unsigned char *)"\5\0\0\1\1\2\3\4\0", 9, &need) == 0 &&
	      need == 10);
	CHECK(transport_socks5_reply_len((const unsigned char *)"\5\0\0\4\1", 5,
	                                 &need) == 0 &&
	      need == 22);
	CHECK(transport_socks5_reply_len((const unsigned char *)"\5\0\0\7\1", 5,
	                                 &need) == -1);
	CHECK(transport_socks5_reply_len((const unsigned char *)"\4\0\0\1\1", 5,
	                                 &need) == -1);
}

TEST(tcp_connect)
{
	struct sockaddr_in sin = {.sin_family = AF_INET};
	socklen_t len = sizeof(sin);
	int ls = socket(AF_INET, SOCK_STREAM, 0), as;
	char port[16], buf[8], host[64];
	const char *error;
	struct transport *t;
	ssize_t n = -1;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	CHECK_INT_EQ(bind(ls, (struct sockaddr *)&sin, sizeof(sin)), 0);
	CHECK_INT_EQ(listen(ls, 1), 0);
	getsockname(ls, (struct sockaddr *)&sin, &len);
	snprintf(port, sizeof(port), "%u", ntohs(sin.sin_port));
	t = transport_tcp_connect("127.0.0.1", port, true, &error);
	CHECK(t != NULL);
	as = accept(ls, NULL, NULL);
	for (int i = 0; i < 100 && n < 0; i++) {
		struct pollfd p = {transport_fd(t), transport_events(t, true),
		                   0};

		poll(&p, 1, 100);
		n = transport_write(t, "hi", 2);
	}
	CHECK_INT_EQ(n, 2);
	CHECK(!transport_tcp_connecting(t));
	CHECK(read(as, buf, 2) == 2 && memcmp(buf, "hi", 2) == 0);
	transport_free(&t);
	close(as);
	close(ls);
	/* nobody listens there now */
	t = transport_tcp_connect("127.0.0.1", port, false, &error);
	n = 0;
	for (int i = 0; t != NULL && i < 100; i++) {
		struct pollfd p = {transport_fd(t), transport_events(t, false),
		                   0};

		poll(&p, 1, 100);
		n = transport_read(t, buf, sizeof(buf));
		if (n < 0 && errno != EAGAIN)
			break;
	}
	CHECK(n == -1 && strstr(transport_error(t), "Connection refused"));
	transport_free(&t);
	CHECK(transport_tcp_connect("no-such-host.invalid", "143", false,
	                            &error) == NULL);
	CHECK(strstr(error, "cannot resolve no-such-host.invalid") != NULL);
	CHECK_INT_EQ(transport_tcp_host("[::1]", host, sizeof(host)), 0);
	CHECK_STREQ(host, "::1");
	CHECK_INT_EQ(transport_tcp_host("[]", host, sizeof(host)), -1);
}

TEST(tls_settings_and_pins)
{
	struct transport_tls_settings set = {.host = "127.0.0.1",
	                                     .verify = true};
	const char *error;
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509 *cert = X509_new();
	unsigned char *der = NULL, dig[32];
	char fp[128], want[128], list[300];
	unsigned int dlen;
	int len;

	set.protocol_min = "TLSv9";
	CHECK(transport_tls_create(NULL, &set, &error) == NULL);
	CHECK(strstr(error, "SSL_protocol_min") != NULL);
	set.protocol_min = NULL;
	set.cipherlist = "NO-SUCH-CIPHER";
	CHECK(transport_tls_create(NULL, &set, &error) == NULL);
	CHECK(strstr(error, "SSL_cipherlist") != NULL);

	X509_set_pubkey(cert, key);
	len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), &der);
	EVP_Digest(der, len, dig, &dlen, EVP_sha256(), NULL);
	OPENSSL_free(der);
	len = snprintf(want, sizeof(want), "sha256$");
	for (unsigned i = 0; i < dlen; i++)
		len += snprintf(want + len, sizeof(want) - len, "%02x", dig[i]);
	CHECK_INT_EQ(transport_tls_spki_digest(cert, "sha256", fp, sizeof(fp)), 0);
	CHECK_STREQ(fp, want);
	CHECK_INT_EQ(transport_tls_spki_digest(cert, "nosuch", fp, sizeof(fp)), -1);
	CHECK_INT_EQ(transport_tls_fingerprint_match(cert, want), 1);
	/* no algorithm means sha256; hex in any case; any of a list */
	snprintf(list, sizeof(list), "sha1$00 %s", want + 7);
	for (char *p = list; *p != '\0'; p++)
		*p = *p >= 'a' && *p <= 'f' ? *p - 32 : *p;
	CHECK_INT_EQ(transport_tls_fingerprint_match(cert, list), 1);
	CHECK_INT_EQ(transport_tls_fingerprint_match(cert, "sha256$00ff"), 0);
	X509_free(cert);
	EVP_PKEY_free(key);
}
