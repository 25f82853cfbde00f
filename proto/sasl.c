/* SPDX-License-Identifier: GPL-3.0-or-later */
/* SASL mechanisms. SCRAM follows RFC 5802 section 3:
 *   SaltedPassword  = Hi(password, salt, i)        (PBKDF2-HMAC-SHA-256)
 *   ClientKey       = HMAC(SaltedPassword, "Client Key")
 *   StoredKey       = H(ClientKey)
 *   AuthMessage     = client-first-bare "," server-first ","
 *                     client-final-without-proof
 *   ClientProof     = ClientKey XOR HMAC(StoredKey, AuthMessage)
 *   ServerSignature = HMAC(HMAC(SaltedPassword, "Server Key"), AuthMessage)
 * Channel binding is not used ("n,,"), as TLS exporters differ between
 * TLS versions and servers. */
#include "sasl.h"

#include "limits.h"
#include "xmalloc.h"

#include <openssl/evp.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SCRAM_NONCE_BYTES 24
#define SCRAM_HASH_LEN crypto_auth_hmacsha256_BYTES

struct sasl_scram {
	char *user;     /* escaped: "," and "=" as =2C and =3D */
	char *password; /* wiped on free */
	char *nonce;    /* ours */
	char *client_first_bare;
	uint8_t server_signature[SCRAM_HASH_LEN];
	bool have_signature;
};

void
sasl_free_secret(char *s)
{
	if (s != NULL) {
		sodium_memzero(s, strlen(s));
		free(s);
	}
}

char *
sasl_base64_encode(const void *data, size_t len)
{
	size_t size =
	    sodium_base64_encoded_len(len, sodium_base64_VARIANT_ORIGINAL);
	char *out = xmalloc(size);

	sodium_bin2base64(out, size, data, len, sodium_base64_VARIANT_ORIGINAL);
	return out;
}

int
sasl_base64_decode(const char *b64, size_t len, char **out_r, size_t *len_r)
{
	size_t max = len / 4 * 3, n;
	char *out;

	if (max > IMAP_MAX_SASL_CHALLENGE)
		return -1;
	out = xmalloc(max + 1);
	if (sodium_base642bin((unsigned char *)out, max, b64, len, NULL, &n,
	                      NULL, sodium_base64_VARIANT_ORIGINAL) != 0) {
		sodium_memzero(out, max);
		free(out);
		return -1;
	}
	out[n] = '\0';
	*out_r = out;
	*len_r = n;
	return 0;
}

char *
sasl_plain(const char *authzid, const char *user, const char *password)
{
	size_t zlen = authzid != NULL ? strlen(authzid) : 0;
	size_t ulen = strlen(user), plen = strlen(password);
	size_t len = zlen + 1 + ulen + 1 + plen;
	char *msg = xmalloc(len), *b64;

	memcpy(msg, authzid != NULL ? authzid : "", zlen);
	msg[zlen] = '\0';
	memcpy(msg + zlen + 1, user, ulen);
	msg[zlen + 1 + ulen] = '\0';
	memcpy(msg + zlen + 1 + ulen + 1, password, plen);
	b64 = sasl_base64_encode(msg, len);
	sodium_memzero(msg, len);
	free(msg);
	return b64;
}

/* RFC 5802 saslname: "," and "=" escaped. */
static char *
scram_escape(const char *user)
{
	size_t n = 0, i;
	char *out, *p;

	for (i = 0; user[i] != '\0'; i++)
		n += user[i] == ',' || user[i] == '=' ? 3 : 1;
	out = p = xmalloc(n + 1);
	for (i = 0; user[i] != '\0'; i++) {
		if (user[i] == ',') {
			memcpy(p, "=2C", 3);
			p += 3;
		} else if (user[i] == '=') {
			memcpy(p, "=3D", 3);
			p += 3;
		} else {
			*p++ = user[i];
		}
	}
	*p = '\0';
	return out;
}

struct sasl_scram *
sasl_scram_create(const char *user, const char *password, const char *nonce)
{
	struct sasl_scram *s = xcalloc(1, sizeof(*s));
	uint8_t raw[SCRAM_NONCE_BYTES];

	s->user = scram_escape(user);
	s->password = xstrdup(password);
	if (nonce != NULL) {
		s->nonce = xstrdup(nonce);
	} else {
		randombytes_buf(raw, sizeof(raw));
		s->nonce = sasl_base64_encode(raw, sizeof(raw));
	}
	return s;
}

void
sasl_scram_free(struct sasl_scram **sp)
{
	struct sasl_scram *s = *sp;

	if (s == NULL)
		return;
	*sp = NULL;
	free(s->user);
	sasl_free_secret(s->password);
	free(s->nonce);
	free(s->client_first_bare);
	sodium_memzero(s, sizeof(*s));
	free(s);
}

char *
sasl_scram_client_first(struct sasl_scram *s)
{
	free(s->client_first_bare);
	s->client_first_bare = xasprintf("n=%s,r=%s", s->user, s->nonce);
	return xasprintf("n,,%s", s->client_first_bare);
}

/* The value of attribute a ("r", "s", "i") in a SCRAM message, or NULL;
 * *len_r is its length. */
static const char *
scram_attr(const char *msg, size_t len, char a, size_t *len_r)
{
	const char *p = msg, *end = msg + len, *comma;

	while (p < end) {
		comma = memchr(p, ',', end - p);
		if (comma == NULL)
			comma = end;
		if (comma - p >= 2 && p[0] == a && p[1] == '=') {
			*len_r = comma - p - 2;
			return p + 2;
		}
		p = comma + 1;
	}
	return NULL;
}

static void
hmac(const uint8_t *key, size_t keylen, const void *data, size_t len,
     uint8_t out[SCRAM_HASH_LEN])
{
	crypto_auth_hmacsha256_state st;

	crypto_auth_hmacsha256_init(&st, key, keylen);
	crypto_auth_hmacsha256_update(&st, data, len);
	crypto_auth_hmacsha256_final(&st, out);
	sodium_memzero(&st, sizeof(st));
}

char *
sasl_scram_client_final(struct sasl_scram *s, const char *server_first,
                        size_t len, const char **error_r)
{
	const char *r, *salt64, *iter;
	size_t rlen, slen, ilen, salt_len, i;
	char *salt = NULL, *without_proof = NULL, *auth = NULL, *msg = NULL;
	char *proof64 = NULL, num[16];
	uint8_t salted[SCRAM_HASH_LEN], ckey[SCRAM_HASH_LEN];
	uint8_t stored[SCRAM_HASH_LEN], csig[SCRAM_HASH_LEN];
	uint8_t skey[SCRAM_HASH_LEN];
	unsigned long iterations;
	char *endp;

	*error_r = "invalid SCRAM server-first-message";
	if (s->client_first_bare == NULL || memchr(server_first, '\0', len))
		return NULL;
	if (len >= 2 && server_first[0] == 'm' && server_first[1] == '=') {
		*error_r = "the server requires a SCRAM extension";
		return NULL;
	}
	r = scram_attr(server_first, len, 'r', &rlen);
	salt64 = scram_attr(server_first, len, 's', &slen);
	iter = scram_attr(server_first, len, 'i', &ilen);
	if (r == NULL || salt64 == NULL || iter == NULL || ilen == 0 ||
	    ilen >= sizeof(num))
		return NULL;
	if (rlen <= strlen(s->nonce) ||
	    memcmp(r, s->nonce, strlen(s->nonce)) != 0) {
		*error_r = "the server's SCRAM nonce does not extend ours";
		return NULL;
	}
	memcpy(num, iter, ilen);
	num[ilen] = '\0';
	if (num[0] < '1' || num[0] > '9')
		return NULL;
	iterations = strtoul(num, &endp, 10);
	if (*endp != '\0')
		return NULL;
	if (iterations > IMAP_MAX_SCRAM_ITERATIONS) {
		*error_r = "the server asks for too many SCRAM iterations";
		return NULL;
	}
	if (sasl_base64_decode(salt64, slen, &salt, &salt_len) < 0 ||
	    salt_len == 0) {
		sasl_free_secret(salt);
		return NULL;
	}
	without_proof = xasprintf("c=biws,r=%.*s", (int)rlen, r);
	auth = xasprintf("%s,%.*s,%s", s->client_first_bare, (int)len,
	                 server_first, without_proof);
	*error_r = "SCRAM key derivation failed (OpenSSL)";
	if (PKCS5_PBKDF2_HMAC(s->password, strlen(s->password),
	                      (const unsigned char *)salt, salt_len,
	                      (int)iterations, EVP_sha256(), sizeof(salted),
	                      salted) != 1)
		goto out;
	hmac(salted, sizeof(salted), "Client Key", 10, ckey);
	crypto_hash_sha256(stored, ckey, sizeof(ckey));
	hmac(stored, sizeof(stored), auth, strlen(auth), csig);
	for (i = 0; i < SCRAM_HASH_LEN; i++)
		ckey[i] ^= csig[i];
	hmac(salted, sizeof(salted), "Server Key", 10, skey);
	hmac(skey, sizeof(skey), auth, strlen(auth), s->server_signature);
	s->have_signature = true;
	proof64 = sasl_base64_encode(ckey, sizeof(ckey));
	msg = xasprintf("%s,p=%s", without_proof, proof64);
out:
	sodium_memzero(salted, sizeof(salted));
	sodium_memzero(ckey, sizeof(ckey));
	sodium_memzero(stored, sizeof(stored));
	sodium_memzero(skey, sizeof(skey));
	sasl_free_secret(salt);
	free(without_proof);
	free(auth);
	sasl_free_secret(proof64);
	return msg;
}

/* The text of the server's own SCRAM error (HACKING.md, "Error
 * text"). */
static char sasl_error[128];

int
sasl_scram_server_final(struct sasl_scram *s, const char *server_final,
                        size_t len, const char **error_r)
{
	const char *v, *e;
	size_t vlen, elen, n;
	char *sig = NULL;
	int ret = -1;

	if ((e = scram_attr(server_final, len, 'e', &elen)) != NULL) {
		snprintf(sasl_error, sizeof(sasl_error),
		         "the server said: %.*s", (int)(elen > 64 ? 64 : elen),
		         e);
		*error_r = sasl_error;
		return -1;
	}
	*error_r = "the server did not prove it knows the password "
	           "(SCRAM server signature mismatch)";
	v = scram_attr(server_final, len, 'v', &vlen);
	if (!s->have_signature || v == NULL ||
	    sasl_base64_decode(v, vlen, &sig, &n) < 0)
		return -1;
	if (n == SCRAM_HASH_LEN &&
	    sodium_memcmp(sig, s->server_signature, SCRAM_HASH_LEN) == 0)
		ret = 0;
	free(sig);
	return ret;
}
