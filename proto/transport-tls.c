/* SPDX-License-Identifier: GPL-3.0-or-later */
/* TLS with OpenSSL over any transport (TCP, SOCKS5), through a BIO that
 * reads and writes the layer below, so the byte counters stay right.
 *
 * The handshake runs on its own before any application byte is read, and
 * the certificate is judged right after it: a key whose SPKI digest is
 * listed in SSL_fingerprint is accepted whatever its chain (a pin);
 * otherwise, with SSL_verify, the chain must lead to a trusted CA and the
 * certificate must name the host. Chain errors are collected by a verify
 * callback that lets the handshake finish, so the error can name the
 * fingerprint a user may choose to pin. */
#include "transport.h"
#include "xmalloc.h"

#include <arpa/inet.h>
#include <errno.h>
/* -Iproto makes <limits.h> find proto/limits.h, so OpenSSL's err.h misses
 * the system's INT_MAX. */
#ifndef INT_MAX
#define INT_MAX __INT_MAX__
#endif
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

struct tls {
	struct transport t;
	struct transport *lower;
	SSL_CTX *ctx;
	SSL *ssl;
	char host[256];
	char *fingerprints; /* "[algo$]hex ..." or NULL */
	bool verify;
	bool started, handshake_done, want_write, lower_eof;
	int verify_err; /* first chain or name error, X509_V_OK if none */
};

static char tls_create_error[512];
static BIO_METHOD *tls_bio_method;

static int
tls_bio_write(BIO *bio, const char *data, int len)
{
	struct tls *tl = BIO_get_data(bio);
	ssize_t n = transport_write(tl->lower, data, len);

	BIO_clear_retry_flags(bio);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
		BIO_set_retry_write(bio);
		tl->want_write = true;
	}
	return (int)n;
}

static int
tls_bio_read(BIO *bio, char *data, int len)
{
	struct tls *tl = BIO_get_data(bio);
	ssize_t n = transport_read(tl->lower, data, len);

	BIO_clear_retry_flags(bio);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		BIO_set_retry_read(bio);
	if (n == 0)
		tl->lower_eof = true;
	return (int)n;
}

static long
tls_bio_ctrl(BIO *bio, int cmd, long num, void *ptr)
{
	(void)bio;
	(void)num;
	(void)ptr;
	return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

static int
tls_bio_create(BIO *bio)
{
	BIO_set_init(bio, 1);
	return 1;
}

static BIO_METHOD *
tls_bio_get_method(void)
{
	if (tls_bio_method != NULL)
		return tls_bio_method;
	tls_bio_method = BIO_meth_new(
	    BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "imapsync transport");
	if (tls_bio_method == NULL)
		return NULL;
	BIO_meth_set_write(tls_bio_method, tls_bio_write);
	BIO_meth_set_read(tls_bio_method, tls_bio_read);
	BIO_meth_set_ctrl(tls_bio_method, tls_bio_ctrl);
	BIO_meth_set_create(tls_bio_method, tls_bio_create);
	return tls_bio_method;
}

static void tls_set_error(struct tls *tl, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
tls_set_error(struct tls *tl, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(tl->t.error, sizeof(tl->t.error), fmt, ap);
	va_end(ap);
}

static void
tls_sync(struct tls *tl)
{
	tl->t.wire_in = tl->lower->wire_in;
	tl->t.wire_out = tl->lower->wire_out;
}

/* The OpenSSL error queue as one line (emptied). */
static void
tls_openssl_error(char *out, size_t size)
{
	unsigned long e, last = 0;

	while ((e = ERR_get_error()) != 0)
		last = e;
	if (last == 0)
		snprintf(out, size, "unknown error");
	else
		ERR_error_string_n(last, out, size);
}

static int
tls_verify_cb(int ok, X509_STORE_CTX *store)
{
	SSL *ssl = X509_STORE_CTX_get_ex_data(
	    store, SSL_get_ex_data_X509_STORE_CTX_idx());
	struct tls *tl = SSL_get_app_data(ssl);

	if (!ok && tl->verify_err == X509_V_OK)
		tl->verify_err = X509_STORE_CTX_get_error(store);
	/* Judged after the handshake, where pins are known to apply. */
	return 1;
}

int
transport_tls_spki_digest(X509 *cert, const char *algo, char *out, size_t size)
{
	const EVP_MD *md = EVP_get_digestbyname(algo);
	unsigned char *der = NULL, dig[EVP_MAX_MD_SIZE];
	unsigned int dlen, i;
	int len;

	if (md == NULL)
		return -1;
	len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), &der);
	if (len <= 0)
		return -1;
	if (EVP_Digest(der, len, dig, &dlen, md, NULL) != 1 ||
	    size < strlen(algo) + 2 + 2 * dlen) {
		OPENSSL_free(der);
		return -1;
	}
	OPENSSL_free(der);
	len = snprintf(out, size, "%s$", algo);
	for (i = 0; i < dlen; i++)
		snprintf(out + len + 2 * i, size - len - 2 * i, "%02x", dig[i]);
	return 0;
}

int
transport_tls_fingerprint_match(X509 *cert, const char *list)
{
	char want[256], got[EVP_MAX_MD_SIZE * 2 + 64];
	const char *p = list, *sp, *dollar;
	size_t len;

	while (*p != '\0') {
		sp = strchr(p, ' ');
		len = sp != NULL ? (size_t)(sp - p) : strlen(p);
		if (len > 0 && len < sizeof(want) - 8) {
			dollar = memchr(p, '$', len);
			if (dollar != NULL)
				snprintf(want, sizeof(want), "%.*s", (int)len,
				         p);
			else
				snprintf(want, sizeof(want), "sha256$%.*s",
				         (int)len, p);
			dollar = strchr(want, '$');
			*(char *)dollar = '\0';
			if (transport_tls_spki_digest(cert, want, got,
			                              sizeof(got)) == 0 &&
			    strcasecmp(got + strlen(want) + 1, dollar + 1) == 0)
				return 1;
		}
		p += len;
		while (*p == ' ')
			p++;
	}
	return 0;
}

/* Judge the peer's certificate once the handshake is done: 0 accepted,
 * -1 refused (t->error says why, with the key's fingerprint). */
static int
tls_check_peer(struct tls *tl)
{
	X509 *cert = SSL_get1_peer_certificate(tl->ssl);
	char fp[EVP_MAX_MD_SIZE * 2 + 16];
	int ret = -1;

	if (cert == NULL) {
		tls_set_error(tl, "TLS: %s sent no certificate", tl->host);
		return -1;
	}
	if (transport_tls_spki_digest(cert, "sha256", fp, sizeof(fp)) < 0)
		snprintf(fp, sizeof(fp), "?");
	if (tl->fingerprints != NULL) {
		if (transport_tls_fingerprint_match(cert, tl->fingerprints))
			ret = 0;
		else
			tls_set_error(
			    tl,
			    "TLS: the public key of %s (%s) matches no "
			    "SSL_fingerprint: refusing the connection",
			    tl->host, fp);
	} else if (tl->verify && tl->verify_err != X509_V_OK) {
		tls_set_error(
		    tl,
		    "TLS: cannot verify the certificate of %s: %s (its "
		    "public key is %s; to trust this key alone, set "
		    "SSL_fingerprint = %s)",
		    tl->host, X509_verify_cert_error_string(tl->verify_err), fp,
		    fp);
	} else {
		ret = 0;
	}
	X509_free(cert);
	return ret;
}

/* Drive the handshake: 1 done, 0 would block (errno EAGAIN), -1 failed. */
static int
tls_handshake(struct tls *tl)
{
	char err[256];
	int r, e;

	if (tl->handshake_done)
		return 1;
	tl->started = true;
	tl->want_write = false;
	ERR_clear_error();
	r = SSL_do_handshake(tl->ssl);
	tls_sync(tl);
	if (r == 1) {
		tl->handshake_done = true;
		if (tls_check_peer(tl) < 0) {
			errno = EPROTO;
			return -1;
		}
		return 1;
	}
	e = SSL_get_error(tl->ssl, r);
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
		tl->want_write = e == SSL_ERROR_WANT_WRITE;
		errno = EAGAIN;
		return 0;
	}
	if (tl->lower_eof || (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0))
		tls_set_error(tl, "TLS handshake with %s failed: %s", tl->host,
		              transport_error(tl->lower)[0] != '\0'
		                  ? transport_error(tl->lower)
		                  : "the server closed the connection");
	else {
		tls_openssl_error(err, sizeof(err));
		tls_set_error(tl, "TLS handshake with %s failed: %s", tl->host,
		              err);
	}
	errno = EPROTO;
	return -1;
}

/* Map a failed SSL_read/SSL_write. */
static ssize_t
tls_io_error(struct tls *tl, int r, const char *what)
{
	char err[256];
	int e = SSL_get_error(tl->ssl, r);

	switch (e) {
	case SSL_ERROR_ZERO_RETURN:
		return 0;
	case SSL_ERROR_WANT_READ:
	case SSL_ERROR_WANT_WRITE:
		tl->want_write = e == SSL_ERROR_WANT_WRITE;
		errno = EAGAIN;
		return -1;
	default:
		if (tl->lower_eof)
			return 0;
		if (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0 &&
		    transport_error(tl->lower)[0] != '\0') {
			tls_set_error(tl, "%s", transport_error(tl->lower));
		} else {
			tls_openssl_error(err, sizeof(err));
			tls_set_error(tl, "TLS %s: %s", what, err);
		}
		errno = EPROTO;
		return -1;
	}
}

/* One SSL_read() into in, or SSL_write() of out (the other NULL), once
 * the handshake is done. */
static ssize_t
tls_io(struct tls *tl, void *in, const void *out, size_t len)
{
	int n = len > INT32_MAX ? INT32_MAX : (int)len, r;

	if ((r = tls_handshake(tl)) <= 0)
		return -1;
	tl->want_write = false;
	ERR_clear_error();
	r = out != NULL ? SSL_write(tl->ssl, out, n) : SSL_read(tl->ssl, in, n);
	tls_sync(tl);
	return r > 0 ? r : tls_io_error(tl, r, out != NULL ? "write" : "read");
}

static ssize_t
tls_read(struct transport *t, void *data, size_t len)
{
	return tls_io((struct tls *)t, data, NULL, len);
}

static ssize_t
tls_write(struct transport *t, const void *data, size_t len)
{
	return tls_io((struct tls *)t, NULL, data, len);
}

static short
tls_events(struct transport *t, bool want_write)
{
	struct tls *tl = (struct tls *)t;

	return transport_events(tl->lower,
	                        want_write || tl->want_write || !tl->started) |
	       POLLIN;
}

static size_t
tls_pending(struct transport *t)
{
	struct tls *tl = (struct tls *)t;
	int n = tl->handshake_done ? SSL_pending(tl->ssl) : 0;

	return n > 0 ? (size_t)n : 0;
}

static int
tls_fd(struct transport *t)
{
	return transport_fd(((struct tls *)t)->lower);
}

static void
tls_destroy(struct transport *t)
{
	struct tls *tl = (struct tls *)t;

	SSL_free(tl->ssl);
	SSL_CTX_free(tl->ctx);
	transport_free(&tl->lower);
	free(tl->fingerprints);
	free(tl);
}

static const struct transport_vfuncs tls_vfuncs = {
    .read = tls_read,
    .write = tls_write,
    .flush = NULL,
    .events = tls_events,
    .pending = tls_pending,
    .fd = tls_fd,
    .destroy = tls_destroy,
};

static int
tls_version(const char *name, size_t len, int *version_r)
{
	static const struct {
		const char *name;
		int version;
	} v[] = {
	    {"SSLv3", SSL3_VERSION},     {"TLSv1", TLS1_VERSION},
	    {"TLSv1.0", TLS1_VERSION},   {"TLSv1.1", TLS1_1_VERSION},
	    {"TLSv1.2", TLS1_2_VERSION}, {"TLSv1.3", TLS1_3_VERSION},
	};

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		if (strlen(v[i].name) == len &&
		    strncasecmp(v[i].name, name, len) == 0) {
			*version_r = v[i].version;
			return 0;
		}
	}
	return -1;
}

/* interimap's deprecated SSL_protocols: "!X" turns X off; listed versions
 * bound the range. */
static int
tls_set_protocols(SSL_CTX *ctx, const char *list)
{
	int lo = 0, hi = 0, v;
	const char *p = list, *sp;
	size_t len;
	bool neg;

	while (*p != '\0') {
		sp = strchr(p, ' ');
		len = sp != NULL ? (size_t)(sp - p) : strlen(p);
		neg = *p == '!';
		if (len == 0)
			break;
		if (strncmp(p + neg, "SSLv2", len - neg) == 0 && neg) {
			/* never offered by OpenSSL 1.1 and later */
		} else if (tls_version(p + neg, len - neg, &v) < 0) {
			return -1;
		} else if (neg) {
			SSL_CTX_set_options(
			    ctx, v == SSL3_VERSION     ? SSL_OP_NO_SSLv3
			         : v == TLS1_VERSION   ? SSL_OP_NO_TLSv1
			         : v == TLS1_1_VERSION ? SSL_OP_NO_TLSv1_1
			         : v == TLS1_2_VERSION ? SSL_OP_NO_TLSv1_2
			                               : SSL_OP_NO_TLSv1_3);
		} else {
			if (lo == 0 || v < lo)
				lo = v;
			if (v > hi)
				hi = v;
		}
		p += len;
		while (*p == ' ')
			p++;
	}
	if (lo != 0 && (!SSL_CTX_set_min_proto_version(ctx, lo) ||
	                !SSL_CTX_set_max_proto_version(ctx, hi)))
		return -1;
	return 0;
}

static struct transport *
tls_fail(struct tls *tl, const char *fmt, const char *arg)
{
	char err[256];

	if (arg == NULL) {
		tls_openssl_error(err, sizeof(err));
		arg = err;
	}
	snprintf(tls_create_error, sizeof(tls_create_error), fmt, arg);
	SSL_free(tl->ssl);
	SSL_CTX_free(tl->ctx);
	free(tl->fingerprints);
	free(tl);
	return NULL;
}

struct transport *
transport_tls_create(struct transport *lower,
                     const struct transport_tls_settings *set,
                     const char **error_r)
{
	struct tls *tl = xcalloc(1, sizeof(*tl));
	unsigned char ipbuf[16];
	BIO_METHOD *meth = tls_bio_get_method();
	BIO *bio;
	int v;

	*error_r = tls_create_error;
	if (meth == NULL) {
		free(tl);
		snprintf(tls_create_error, sizeof(tls_create_error),
		         "TLS: cannot create a BIO method (OpenSSL)");
		return NULL;
	}
	tl->t.v = &tls_vfuncs;
	tl->verify = set->verify;
	tl->verify_err = X509_V_OK;
	snprintf(tl->host, sizeof(tl->host), "%s", set->host);
	if (set->fingerprints != NULL)
		tl->fingerprints = xstrdup(set->fingerprints);
	tl->ctx = SSL_CTX_new(TLS_client_method());
	if (tl->ctx == NULL)
		return tls_fail(tl, "TLS: %s", NULL);
	SSL_CTX_set_min_proto_version(tl->ctx, TLS1_2_VERSION);
	SSL_CTX_set_mode(tl->ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
	                              SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
#ifdef SSL_OP_IGNORE_UNEXPECTED_EOF
	/* Servers close after BYE without close_notify; IMAP's tagged
	 * responses tell a truncation anyway. */
	SSL_CTX_set_options(tl->ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
#endif
	if (set->protocols != NULL &&
	    tls_set_protocols(tl->ctx, set->protocols) < 0)
		return tls_fail(tl, "invalid SSL_protocols: %s",
		                set->protocols);
	if (set->protocol_min != NULL &&
	    (tls_version(set->protocol_min, strlen(set->protocol_min), &v) <
	         0 ||
	     !SSL_CTX_set_min_proto_version(tl->ctx, v)))
		return tls_fail(tl, "invalid SSL_protocol_min: %s",
		                set->protocol_min);
	if (set->protocol_max != NULL &&
	    (tls_version(set->protocol_max, strlen(set->protocol_max), &v) <
	         0 ||
	     !SSL_CTX_set_max_proto_version(tl->ctx, v)))
		return tls_fail(tl, "invalid SSL_protocol_max: %s",
		                set->protocol_max);
	if (set->cipherlist != NULL &&
	    !SSL_CTX_set_cipher_list(tl->ctx, set->cipherlist))
		return tls_fail(tl, "invalid SSL_cipherlist: %s",
		                set->cipherlist);
	if (set->ciphersuites != NULL &&
	    !SSL_CTX_set_ciphersuites(tl->ctx, set->ciphersuites))
		return tls_fail(tl, "invalid SSL_ciphersuites: %s",
		                set->ciphersuites);
	if (set->cafile != NULL || set->capath != NULL) {
		if (!SSL_CTX_load_verify_locations(tl->ctx, set->cafile,
		                                   set->capath))
			return tls_fail(tl,
			                "cannot load SSL_CAfile or SSL_CApath: "
			                "%s",
			                NULL);
	} else if (!SSL_CTX_set_default_verify_paths(tl->ctx)) {
		return tls_fail(tl, "cannot load the system's CAs: %s", NULL);
	}
	SSL_CTX_set_verify(tl->ctx, SSL_VERIFY_PEER, tls_verify_cb);
	tl->ssl = SSL_new(tl->ctx);
	if (tl->ssl == NULL)
		return tls_fail(tl, "TLS: %s", NULL);
	SSL_set_app_data(tl->ssl, tl);
	if (set->sni != NULL && set->sni[0] != '\0' &&
	    inet_pton(AF_INET, set->sni, ipbuf) != 1 &&
	    inet_pton(AF_INET6, set->sni, ipbuf) != 1 &&
	    !SSL_set_tlsext_host_name(tl->ssl, set->sni))
		return tls_fail(tl, "invalid SSL_hostname: %s", set->sni);
	X509_VERIFY_PARAM_set_hostflags(SSL_get0_param(tl->ssl),
	                                X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	if (inet_pton(AF_INET, set->host, ipbuf) == 1 ||
	    inet_pton(AF_INET6, set->host, ipbuf) == 1) {
		if (!X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(tl->ssl),
		                                   set->host))
			return tls_fail(tl, "TLS: %s", NULL);
	} else if (!SSL_set1_host(tl->ssl, set->host)) {
		return tls_fail(tl, "TLS: %s", NULL);
	}
	bio = BIO_new(meth);
	if (bio == NULL)
		return tls_fail(tl, "TLS: %s", NULL);
	BIO_set_data(bio, tl);
	SSL_set_bio(tl->ssl, bio, bio);
	SSL_set_connect_state(tl->ssl);
	tl->lower = lower;
	return &tl->t;
}
