/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Every number that bounds what a peer may make us hold or do.
 * A server that passes one of these gets its connection dropped with an
 * error naming the limit; nothing past a limit is ever allocated. */
#ifndef PROTO_LIMITS_H
#define PROTO_LIMITS_H

#include <stdint.h>

/* Bytes of one response outside its literals (the "line"), counting every
 * line of a response that continues after a literal. */
#define IMAP_MAX_LINE (1024 * 1024)

/* Largest literal a server may announce (a message body). */
#define IMAP_MAX_LITERAL (1024ULL * 1024 * 1024)

/* Literals up to this size are kept in memory; larger ones are spilled to
 * an unlinked temporary file as they arrive, so memory stays flat in the
 * size of a message. */
#define IMAP_MAX_INLINE_LITERAL (256 * 1024)

/* Literals in one response that may be spilled to files (each holds an
 * open file descriptor until the response has been handled). */
#define IMAP_MAX_SPILLED_LITERALS 64

/* Bytes held in memory for one response: its line plus inline literals. */
#define IMAP_MAX_RESPONSE (8 * 1024 * 1024)

/* Bytes of FETCH items held while the rest of their message's items
 * come in other FETCH responses (proto/imap-fetch-join.c), on one
 * connection: a server that splits a message's items sends the rest
 * soon after, so little is held; one that holds back the rest of a
 * flood of messages fails the mailbox ("... in several FETCH
 * responses") rather than making us keep it all. */
#define IMAP_MAX_FETCH_HELD (16 * 1024 * 1024)

/* Spilled literals (bodies) held so, each an open file descriptor. */
#define IMAP_MAX_FETCH_HELD_FILES 64

/* Messages held so at once: each response is matched against them (a
 * walk, newest first: a splitting server sends a message's pieces one
 * after the other), so this bounds the time a flood can cost too. */
#define IMAP_MAX_FETCH_HELD_MESSAGES 10000

/* Parenthesised list nesting depth. */
#define IMAP_MAX_DEPTH 16

/* Arguments (atoms, strings, lists) in one response, all levels. */
#define IMAP_MAX_ARGS 100000

/* Ranges in one parsed UID set. */
#define IMAP_MAX_UIDSET_RANGES 1000000

/* A UID set written into one command is split past this many bytes. */
#define IMAP_MAX_UIDSET_CMD 4096

/* Mailboxes one run creates on a side (the max-create key's default):
 * a server listing a flood of names must not fill the other store with
 * folders in one go, and the rest waits for the next run; real accounts
 * have hundreds, a few thousand at most. */
#define IMAP_MAX_MAILBOX_CREATES 10000

/* Bytes of one mailbox name, decoded or encoded. */
#define IMAP_MAX_MAILBOX_NAME 4096

/* Bytes queued in memory for output on one connection before the caller
 * is asked to stop producing (spilled literals do not count). */
#define IMAP_MAX_OUTPUT_QUEUE (4 * 1024 * 1024)

/* Bytes of one SASL challenge from the server, decoded. */
#define IMAP_MAX_SASL_CHALLENGE 8192

/* SCRAM iteration count a server may ask for: each costs two HMACs, so a
 * hostile server could otherwise make us spin for hours. */
#define IMAP_MAX_SCRAM_ITERATIONS 1000000

/* Bytes of a SOCKS5 reply's bound address (a domain name is at most 255). */
#define IMAP_MAX_SOCKS5_REPLY (4 + 1 + 255 + 2)

/* Compressed bytes held in each direction by the COMPRESS=DEFLATE layer. */
#define IMAP_DEFLATE_BUF (64 * 1024)

/* Bytes per second that buy a command one more second to be answered,
 * past the answer timeout (imap_conn_set_answer_timeout()): a long
 * transfer goes on, a server trickling a byte now and then does not. */
#define IMAP_MIN_RATE 1024

/* Bytes gathered into one buffer per write(2) on a connection (its
 * memory, each connection). */
#define IMAP_CONN_OBUF_SIZE (256 * 1024)

/* Bytes of a tunnel command's stderr read before its file is emptied
 * (the last lines are quoted in an error; ssh may say much). */
#define IMAP_TUNNEL_STDERR_KEEP (64 * 1024)

/* Bytes of a MAILBOXID or X-GUID (RFC 8474: objectid = 1*255(ALPHA /
 * DIGIT / "_" / "-")); a longer one is refused. */
#define IMAP_MAX_OBJECTID 255

/* Bytes of the password a password-command may print. */
#define IMAP_MAX_PASSWORD 4096

/* Bytes of one line of a --debug trace (a command or a response line);
 * the rest is counted, not shown: a 1 MiB line (IMAP_MAX_LINE) must not
 * flood the log. */
#define IMAP_MAX_TRACE_LINE (64 * 1024)

/* The cap of a buffer that holds only what the program itself puts in,
 * bounded by its callers rather than by a peer: a command being built
 * (whose UID sets are split at IMAP_MAX_UIDSET_CMD, whose literals are
 * messages already within IMAP_MAX_LITERAL), a trace line before it is
 * cut at IMAP_MAX_TRACE_LINE. Memory runs out (xmalloc_fatal()) before
 * this is reached. */
#define BUF_NO_CAP (SIZE_MAX / 2)

/* The largest config file read (interimap's are a few hundred bytes):
 * the user's, read whole into memory. */
#define CONFIG_MAX_FILE_SIZE (1024 * 1024)

/* Nesting of log-prefix's %?X?...?...? conditionals (the parser
 * recurses once a level). */
#define LOG_PREFIX_MAX_DEPTH 32

/* The client's own text buffers. Each is capped, as every struct buf
 * is; these say how far, and what happens past it. */

/* Bytes of one log line before escaping (client/log.c). A message
 * longer than this is left out of its line (the prefix is written); a
 * server's text (up to IMAP_MAX_LINE) can reach it. */
#define LOG_MAX_LINE (64 * 1024)

/* Bytes of the progress line on a terminal (client/log.c). */
#define LOG_MAX_PROGRESS_LINE 4096

/* Bytes of a UID set written into a log line ("Added 3 UID(s) 1:3 <-
 * 7:9", "would expunge ... UID(s) 1:3"): a longer set is shown as
 * "(too many)" (sync_uids_str()). */
#define SYNC_MAX_LOGGED_UIDS (1024 * 1024)

/* Bytes of one message's flag list in canonical form (sorted, one space
 * between flags). A FLAGS list is part of one response line, so any list
 * a server can send fits: a longer line fails the connection first
 * (IMAP_MAX_LINE). */
#define SYNC_MAX_FLAGS_TEXT IMAP_MAX_LINE

/* Bytes of the flags two lists that conflict are merged into: their
 * union at most (flags_union(), flags_merge3()), so the merge of any two
 * lists a server can send never fails. A server that accepts such a
 * STORE and then sends the list back on a line too long fails its
 * connection with IMAP_MAX_LINE named. */
#define SYNC_MAX_FLAGS_MERGED (2 * SYNC_MAX_FLAGS_TEXT + 1)

/* Bytes of the "+FLAG from local, ..." text said of a merge: a log
 * line's worth; longer, it ends in "...". */
#define SYNC_MAX_FLAG_CHANGES LOG_MAX_LINE

/* Bytes of the LIST command's patterns (the MAILBOX arguments, or
 * list-mailbox): the user's, not a server's. */
#define SYNC_MAX_LIST_PATTERNS (1024 * 1024)

/* Bytes of one item of a --debug=sync line (a UID set, a flag change,
 * a mailbox name: client/sync-trace.c). A longer UID set is cut and
 * its count given; the trace is for reading, the real sets are in the
 * actions' lines. */
#define SYNC_TRACE_MAX_ITEM 4096

/* SQLite's page cache for the state database, KiB (SQLite's default is
 * 2 MiB). The pairs of a 100 000-message mailbox take about 5 MB: with 2
 * MiB, each pass over them read most pages from the file again (12 000
 * reads a resync). It grows only as pages are used. */
#define STATE_CACHE_KIB (16 * 1024)

#endif
