/* SPDX-License-Identifier: GPL-3.0-or-later */
/* One message's FETCH items put back together when a server gives them in
 * several FETCH responses (RFC 9051 7.5.2, RFC 3501 7.4.2: "a server MAY
 * send data items in several responses"). The connection (imap-conn.c)
 * names, for each FETCH response, the command in flight it answers and
 * the items that command asked; what lacks some of them is held, copied,
 * until the rest comes (then handed on as one response) or until that
 * command's tagged response (then handed on as it is). A response that
 * has all it was asked is handed on untouched, copied nowhere. What is
 * held is capped (IMAP_MAX_FETCH_HELD, IMAP_MAX_FETCH_HELD_FILES). */
#ifndef PROTO_IMAP_FETCH_JOIN_H
#define PROTO_IMAP_FETCH_JOIN_H

#include "imap-parser.h"
#include "uidset.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct imap_fetch_join;

/* An empty set of held messages, or NULL out of memory. */
struct imap_fetch_join *imap_fetch_join_create(void);
/* Free, with everything held (spilled bodies' fds closed). */
void imap_fetch_join_free(struct imap_fetch_join **j);

/* What the command text ("A1 UID FETCH 1:3 (FLAGS BODY.PEEK[])", or a
 * SELECT or EXAMINE with QRESYNC) asks of each message it names: the
 * items as enum imap_fetch_item bits in *want_r (UID too for UID FETCH),
 * and for UID FETCH its UIDs added to uids (normalized), *all_r true
 * when it may name any message (a sequence set, "*", SELECT). false when
 * it is not such a command or asks an item not known here: its answers
 * are then handed on as they come. */
bool imap_fetch_join_want(const char *text, size_t len, unsigned *want_r,
                          struct uidset *uids, bool *all_r);

/* The UID of a FETCH response, 0 if it has none (or is malformed). */
uint32_t imap_fetch_join_uid(const struct imap_response *resp);

/* A FETCH response that owner (a command in flight, NULL for none)
 * asked want of. Returns 1 with *out_r what to hand on now: resp itself,
 * or resp joined with what was held for its message (matched by UID, or
 * by sequence number where one of the two has no UID), valid until the
 * next call on j (a response that does not decode goes on as it came,
 * never joined: its decoder says what is wrong); 0 when it is held; -1 when holding it would pass a cap,
 * with *error_r saying so (static text): everything held for owner is
 * dropped, and resp is not handed on. */
int imap_fetch_join_add(struct imap_fetch_join *j,
                        const struct imap_response *resp, const void *owner,
                        unsigned want, const struct imap_response **out_r,
                        const char **error_r);

/* What is held for owner (its tagged response came), or with owner NULL
 * what an EXPUNGE or VANISHED made ready: one message at a time, 1 with
 * *out_r (valid until the next call on j), 0 when there is no more. */
int imap_fetch_join_next(struct imap_fetch_join *j, const void *owner,
                         const struct imap_response **out_r);
/* Drop what is held for owner without handing it on (NULL: all). */
void imap_fetch_join_drop(struct imap_fetch_join *j, const void *owner);

/* "* seq EXPUNGE": the message held under seq is ready (its items are
 * all there will be), the ones after it move down. */
void imap_fetch_join_expunge(struct imap_fetch_join *j, uint32_t seq);
/* "* VANISHED uids" (not EARLIER): the messages held under those UIDs are
 * ready; sequence numbers shifted by an unknown amount, so the others are
 * matched by UID from now on, and those without a UID are ready too. */
void imap_fetch_join_vanished(struct imap_fetch_join *j,
                              const struct uidset *uids);

/* Bytes held, for tests. */
size_t imap_fetch_join_bytes(const struct imap_fetch_join *j);

#endif
