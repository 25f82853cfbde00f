/* SPDX-License-Identifier: GPL-3.0-or-later */
/* imapsync --status: the state database's view of each mailbox, read
 * from a copy of the database, without a server and without its lock. */
#ifndef CLIENT_STATUS_H
#define CLIENT_STATUS_H

#include <stdbool.h>
#include <stdio.h>

/* Print the state of the database at path to out: one line a mailbox
 * and a total, or with json one JSON document (the schema is in the man
 * page). Errors are logged. The exit status (enum imapsync_exit). */
int status_show(const char *path, bool json, FILE *out);

#endif
