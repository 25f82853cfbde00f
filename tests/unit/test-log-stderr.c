/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "limits.h"
#include "log.h"

/* Log one error, warning, action and debug line with stderr sent to a
 * file, $JOURNAL_STREAM set to journal (NULL: unset); returns the file's
 * content (static). */
static const char *
log_to_file(const char *journal, bool match)
{
	static char out[4096];
	char path[] = "/tmp/test-log-XXXXXX", env[64];
	struct log_settings set = {.debug = 1};
	const char *error;
	struct stat st;
	int fd, saved;
	ssize_t n;

	fd = mkstemp(path);
	if (fd < 0)
		return "(mkstemp failed)";
	unlink(path);
	fflush(stderr);
	saved = dup(STDERR_FILENO);
	dup2(fd, STDERR_FILENO);
	fstat(fd, &st);
	if (journal != NULL && match) {
		snprintf(env, sizeof(env), "%llu:%llu",
		         (unsigned long long)st.st_dev,
		         (unsigned long long)st.st_ino);
		setenv("JOURNAL_STREAM", env, 1);
	} else if (journal != NULL)
		setenv("JOURNAL_STREAM", journal, 1);
	else
		unsetenv("JOURNAL_STREAM");
	if (log_init(&set, &error) == 0) {
		log_error("remote", NULL, "e");
		log_warn("local", "INBOX", "w");
		log_info("local", "INBOX", "i");
		log_debugf(NULL, NULL, "d");
		log_early(false, "early");
		log_deinit();
	}
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	n = pread(fd, out, sizeof(out) - 1, 0);
	out[n < 0 ? 0 : n] = '\0';
	close(fd);
	unsetenv("JOURNAL_STREAM");
	return out;
}

TEST(journal_priorities)
{
	CHECK_STREQ(log_to_file("x", true),
	            "<3>remote: ERROR: e\n"
	            "<4>local(INBOX): WARNING: w\n"
	            "<6>local(INBOX): i\n"
	            "<7>d\n"
	            "<3>imapsync: early\n");
}

TEST(no_priorities_elsewhere)
{
	const char *plain = "remote: ERROR: e\n"
	                    "local(INBOX): WARNING: w\n"
	                    "local(INBOX): i\n"
	                    "d\n"
	                    "imapsync: early\n";

	/* Unset; another stream's (stderr redirected by the service);
	 * not a device:inode pair. */
	CHECK_STREQ(log_to_file(NULL, false), plain);
	CHECK_STREQ(log_to_file("1:2", false), plain);
	CHECK_STREQ(log_to_file("junk", false), plain);
}

/* The logfile's lines start with the date, year included. */
TEST(logfile_timestamp)
{
	char path[] = "/tmp/test-log-XXXXXX", line[256];
	struct log_settings set = {.logfile = path};
	const char *error;
	FILE *f;
	int fd, y, mo, d, h, mi, s, ms, n = 0;

	fd = mkstemp(path);
	if (!CHECK(fd >= 0))
		return;
	close(fd);
	unsetenv("JOURNAL_STREAM");
	CHECK_INT_EQ(log_init(&set, &error), 0);
	log_info("local", "INBOX", "i");
	log_deinit();
	f = fopen(path, "r");
	unlink(path);
	if (!CHECK(f != NULL))
		return;
	CHECK(fgets(line, sizeof(line), f) != NULL);
	fclose(f);
	CHECK(sscanf(line, "%4d-%2d-%2d %2d:%2d:%2d.%3d%*[-+0-9] %n", &y, &mo,
	             &d, &h, &mi, &s, &ms, &n) == 7);
	CHECK(y >= 2024 && mo >= 1 && mo <= 12);
	CHECK_STREQ(line + n, "local(INBOX): i\n");
}

/* A message longer than a log line (LOG_MAX_LINE) is cut, with a marker
 * saying how much is left out, not lost. */
TEST(long_line_cut_with_marker)
{
	char path[] = "/tmp/test-log-XXXXXX";
	struct log_settings set = {.logfile = path};
	const char *error, *p, *q;
	size_t big = LOG_MAX_LINE + 10000, n, kept, more = 0;
	int end = 0;
	char *msg = malloc(big + 1), *text = malloc(2 * big);
	FILE *f;
	int fd;

	if (!CHECK(msg != NULL && text != NULL))
		goto out;
	memset(msg, 'a', big);
	msg[0] = 'S';
	msg[big - 1] = 'E';
	msg[big] = '\0';
	fd = mkstemp(path);
	if (!CHECK(fd >= 0))
		goto out;
	close(fd);
	unsetenv("JOURNAL_STREAM");
	CHECK_INT_EQ(log_init(&set, &error), 0);
	log_info("remote", "INBOX", "%s", msg);
	log_info("remote", "INBOX", "after");
	log_deinit();
	f = fopen(path, "r");
	unlink(path);
	if (!CHECK(f != NULL))
		goto out;
	n = fread(text, 1, 2 * big - 1, f);
	fclose(f);
	text[n] = '\0';
	p = strstr(text, "remote(INBOX): S");
	CHECK(p != NULL);
	/* Cut within the cap, the end left out, and said. */
	CHECK(p != NULL && strchr(p, '\n') != NULL &&
	      (size_t)(strchr(p, '\n') - p) <= LOG_MAX_LINE);
	CHECK(strstr(text, "aE") == NULL);
	/* What is kept and what is said left out add up to the message. */
	if (CHECK(p != NULL && (q = strstr(p, "... (")) != NULL)) {
		kept = (size_t)(q - p) - strlen("remote(INBOX): ");
		CHECK(sscanf(q, "... (%zu more bytes not logged)\n%n", &more,
		             &end) == 1 &&
		      end > 0);
		CHECK_INT_EQ(kept + more, big);
	}
	/* The next line is whole. */
	CHECK(strstr(text, "remote(INBOX): after\n") != NULL);
out:
	free(msg);
	free(text);
}
