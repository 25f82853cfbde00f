/* SPDX-License-Identifier: GPL-3.0-or-later */
/* One IMAP command being built and sent: a list of segments (bytes in
 * memory, literal bodies read from a file, and points where a
 * synchronizing literal waits for the server's continuation request).
 * The connection fills its output buffer from it with imap_writer_fill();
 * the fmt directives are those of imap_conn_cmd() (see imap-conn.h). */
#ifndef PROTO_IMAP_WRITER_H
#define PROTO_IMAP_WRITER_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct imap_writer;

/* Literals up to this size go non-synchronizing under LITERAL- (RFC 7888). */
#define IMAP_WRITER_LITERAL_MINUS_MAX 4096
/* Longest string written quoted; longer ones become literals. */
#define IMAP_WRITER_QUOTED_MAX 1024

/* Build "tag " + fmt + CRLF. Returns NULL with *error_r (static text) when
 * an argument cannot be written (a %m name that is not valid UTF-8, a
 * %F fd that cannot be dup()ed); aborts on a malformed fmt. The caller
 * owns the result (imap_writer_free). A command has no cap of its own:
 * what goes in is bounded by its callers (IMAP_MAX_UIDSET_CMD...). */
struct imap_writer *imap_writer_create(const char *tag, const char *fmt,
                                       va_list ap, const char **error_r);
/* The same in pieces: begin writes "tag ", add appends fmt (the first
 * piece starts with the command name, later ones with a space), end adds
 * the CRLF. add fails like imap_writer_create() (the writer is then
 * unusable: free it). */
struct imap_writer *imap_writer_begin(const char *tag);
int imap_writer_add(struct imap_writer *w, const char *fmt, va_list ap,
                    const char **error_r) __attribute__((warn_unused_result));
void imap_writer_end(struct imap_writer *w);
/* Free, closing dup()ed fds and wiping the bytes if a secret was in them. */
void imap_writer_free(struct imap_writer **w);
/* Once everything is written and no line will be added: let go of the
 * bytes and fds now (a MULTIAPPEND's bodies), not when the server answers.
 * Only imap_writer_finished() and imap_writer_free() may follow. */
void imap_writer_release(struct imap_writer *w);

/* Choose the form of every literal from the server's capabilities
 * (enum imap_capability): {n+} with LITERAL+, or with LITERAL- when n is at
 * most IMAP_WRITER_LITERAL_MINUS_MAX; else {n} and a wait for "+". Must be
 * called once before the first imap_writer_fill(). */
void imap_writer_set_caps(struct imap_writer *w, uint64_t caps);

/* Append a line (CRLF added) to send after what is queued: an answer to a
 * continuation request. secret: redacted in traces. */
void imap_writer_add_line(struct imap_writer *w, const void *data, size_t len,
                          bool secret);

/* Copy up to size bytes from the cursor into dest and advance. Returns the
 * bytes copied; 0 when stalled (imap_writer_stalled) or finished; -1 with
 * *error_r if reading a literal's fd failed or came up short. */
ssize_t imap_writer_fill(struct imap_writer *w, void *dest, size_t size,
                         const char **error_r);
/* At a synchronizing literal whose continuation has not come. */
bool imap_writer_stalled(const struct imap_writer *w);
/* The continuation came: go on past the wait point. */
void imap_writer_resume(struct imap_writer *w);
/* Everything queued has been filled. */
bool imap_writer_finished(const struct imap_writer *w);
/* No byte has been filled yet. */
bool imap_writer_at_start(const struct imap_writer *w);
/* Drop what is left (the server refused a synchronizing literal). */
void imap_writer_abort(struct imap_writer *w);
/* Bytes held in memory not yet filled (literals from fds not counted). */
size_t imap_writer_mem_pending(const struct imap_writer *w);
/* The command's first word, upper-cased ("LOGOUT"); "" if none. */
const char *imap_writer_verb(const struct imap_writer *w);
/* What the command asks, for a message: its first word, or the first two
 * after UID ("UID FETCH"), upper-cased, into out (never an argument, so
 * never a credential); "" if none. Only before anything is written. */
void imap_writer_what(const struct imap_writer *w, char *out, size_t size);

/* The command's bytes held in memory, tag first (literals read from an
 * fd left out), and their length. Only before anything is written. */
const char *imap_writer_text(const struct imap_writer *w, size_t *len_r);

typedef void imap_writer_trace_fn(void *ctx, const char *line, size_t len);
/* Call fn for each line of what has not been traced yet, up to the next
 * wait point: secrets as "<redacted>" and literal bodies as "{n bytes}"
 * unless debug >= 2. */
void imap_writer_trace(struct imap_writer *w, int debug,
                       imap_writer_trace_fn *fn, void *ctx);

#endif
