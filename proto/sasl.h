/* SPDX-License-Identifier: GPL-3.0-or-later */
/* SASL mechanisms for AUTHENTICATE, as pure functions over strings: PLAIN
 * (RFC 4616) and SCRAM-SHA-256 (RFC 5802, RFC 7677). The connection code
 * base64-encodes what these return and decodes what the server sends.
 * Every string these functions return is the caller's, to free with
 * sasl_free_secret(): it may hold a credential. */
#ifndef PROTO_SASL_H
#define PROTO_SASL_H

#include <stddef.h>

struct sasl_scram;

/* Wipe and free a string returned here (NULL is fine). */
void sasl_free_secret(char *s);

/* Base64 of len bytes (RFC 4648, padded); caller frees with
 * sasl_free_secret(). */
char *sasl_base64_encode(const void *data, size_t len);
/* Decode base64 (padding required, no blanks) into a NUL-terminated string
 * of at most IMAP_MAX_SASL_CHALLENGE bytes; -1 when invalid or too long.
 * *out_r is the caller's (sasl_free_secret). */
int sasl_base64_decode(const char *b64, size_t len, char **out_r,
                       size_t *len_r);

/* The PLAIN message "authzid NUL user NUL password", base64-encoded;
 * authzid may be NULL. */
char *sasl_plain(const char *authzid, const char *user, const char *password);

/* A SCRAM-SHA-256 exchange for user and password (both copied, the
 * password wiped on free). nonce NULL: a random one (tests pass the
 * RFC's). Free with sasl_scram_free(). */
struct sasl_scram *sasl_scram_create(const char *user, const char *password,
                                     const char *nonce);
void sasl_scram_free(struct sasl_scram **s);
/* The client-first-message ("n,,n=user,r=nonce"), not base64-encoded. */
char *sasl_scram_client_first(struct sasl_scram *s);
/* Given the server-first-message, the client-final-message with its proof;
 * NULL and *error_r (static text) when the server's message is invalid,
 * its nonce does not extend ours, or its iteration count passes
 * IMAP_MAX_SCRAM_ITERATIONS. */
char *sasl_scram_client_final(struct sasl_scram *s, const char *server_first,
                              size_t len, const char **error_r);
/* Check the server-final-message: 0 when it proves the server knows the
 * password, -1 with *error_r otherwise (a server error "e=..." too). */
int sasl_scram_server_final(struct sasl_scram *s, const char *server_final,
                            size_t len, const char **error_r);

#endif
