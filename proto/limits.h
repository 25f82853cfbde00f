/* Every number that bounds what a peer may make us hold or do.
 * A server that passes one of these gets its connection dropped with an
 * error naming the limit; nothing past a limit is ever allocated. */
#ifndef PROTO_LIMITS_H
#define PROTO_LIMITS_H

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

/* Parenthesised list nesting depth. */
#define IMAP_MAX_DEPTH 16

/* Arguments (atoms, strings, lists) in one response, all levels. */
#define IMAP_MAX_ARGS 100000

/* Ranges in one parsed UID set. */
#define IMAP_MAX_UIDSET_RANGES 1000000

/* A UID set written into one command is split past this many bytes. */
#define IMAP_MAX_UIDSET_CMD 4096

/* Bytes of one mailbox name, decoded or encoded. */
#define IMAP_MAX_MAILBOX_NAME 4096

/* Bytes queued in memory for output on one connection before the caller
 * is asked to stop producing (spilled literals do not count). */
#define IMAP_MAX_OUTPUT_QUEUE (4 * 1024 * 1024)

#endif
