/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "test.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "config.h"
#include "transport.h"

static char tmpdir[64];

static const char *
write_config(const char *name, const char *text, mode_t mode)
{
	static char path[128];
	FILE *f;

	if (tmpdir[0] == '\0') {
		strcpy(tmpdir, "/tmp/test-config.XXXXXX");
		if (mkdtemp(tmpdir) == NULL)
			abort();
	}
	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	f = fopen(path, "w");
	if (f == NULL)
		abort();
	fputs(text, f);
	fclose(f);
	chmod(path, mode);
	return path;
}

static void
remove_config(const char *path)
{
	unlink(path);
	rmdir(tmpdir); /* fails while others remain; the last one wins */
	if (access(tmpdir, F_OK) != 0)
		tmpdir[0] = '\0';
}

/* Load text; on success return the config, else NULL with *error_r. */
static struct config *
load(const char *text, const char **error_r)
{
	const char *path = write_config("config", text, 0600);
	struct config *config = NULL;
	const char *error = NULL;

	if (config_load(path, &config, &error) < 0)
		config = NULL;
	if (error_r != NULL)
		*error_r = error;
	remove_config(path);
	return config;
}

/* The error of loading text, with the directory cut off. */
static const char *
load_error(const char *text)
{
	const char *error = NULL, *slash;
	struct config *config = load(text, &error);

	if (config != NULL) {
		config_free(&config);
		return "(loaded)";
	}
	slash = error == NULL ? NULL : strrchr(error, '/');
	return slash != NULL && strncmp(slash, "/config", 7) == 0 ? slash + 1
	                                                          : error;
}

TEST(defaults)
{
	struct config *c = load("[local]\n[remote]\n", NULL);
	const struct config_side *l, *r;

	CHECK(c != NULL);
	if (c == NULL)
		return;
	l = &c->side[SIDE_LOCAL];
	r = &c->side[SIDE_REMOTE];
	CHECK(c->database == NULL);
	CHECK(c->logfile == NULL);
	CHECK_STREQ(c->log_prefix, CONFIG_DEFAULT_LOG_PREFIX);
	CHECK_INT_EQ(c->list_mailbox_count, 0);
	CHECK(c->list_select_opts == NULL);
	CHECK(c->ignore_mailbox == NULL && c->ignore_re == NULL);
	CHECK(l->type == CONFIG_TYPE_IMAPS && r->type == CONFIG_TYPE_IMAPS);
	CHECK_STREQ(l->host, "localhost");
	CHECK_STREQ(l->port, "993");
	CHECK_STREQ(l->auth, "PLAIN LOGIN");
	CHECK(l->starttls && l->ssl_verify && !l->null_stderr);
	CHECK(!l->compress);
	CHECK(r->compress);
	CHECK_STREQ(l->list_reference, "");
	CHECK(l->username == NULL && l->password == NULL);
	CHECK(l->ssl_hostname == NULL && l->command == NULL);
	CHECK_INT_EQ(l->line[CONFIG_TYPE], 0);
	CHECK(l->section_line == 1 && r->section_line == 2);
	CHECK_INT_EQ(c->warning_count, 0);
	config_free(&c);
	CHECK(c == NULL);
}

TEST(every_key)
{
	const char *text = "# a comment\n"
	                   "; another\n"
	                   "database = my.db\n"
	                   "logfile = /var/log/imapsync.log\n"
	                   "log-prefix = %n: \n"
	                   "list-mailbox = INBOX \"Sent Items\" foo*\n"
	                   "list-select-opts = subscribed recursivematch\n"
	                   "list-reference = ref/\n"
	                   "ignore-mailbox = ^virtual(?:\\x00|$)\n"
	                   "username = common\n"
	                   "\n"
	                   "[local]\n"
	                   "type = tunnel\n"
	                   "command = doveadm exec imap\n"
	                   "null-stderr = yes\n"
	                   "compress = No\n"
	                   "\n"
	                   "[remote]\n"
	                   "type = imap\n"
	                   "host = [192.0.2.1]\n"
	                   "port = imap\n"
	                   "proxy = socks5h://u:p@proxy:1080\n"
	                   "STARTTLS = NO\n"
	                   "auth = PLAIN\n"
	                   "password = s3cr=t\n"
	                   "list-reference = other/\n"
	                   "SSL_protocols = !SSLv3 TLSv1.2 TLSv1.3\n"
	                   "SSL_protocol_min = TLSv1.2\n"
	                   "SSL_protocol_max = TLSv1.3\n"
	                   "SSL_fingerprint = sha256$0A1b abcdef\n"
	                   "SSL_cipherlist = HIGH:!aNULL\n"
	                   "SSL_ciphersuites =\n"
	                   "SSL_hostname = imap.example.org\n"
	                   "SSL_verify = no\n"
	                   "SSL_CApath = /etc/ssl/certs\n"
	                   "SSL_CAfile = /etc/ssl/ca.pem\n";
	struct config *c = load(text, NULL);
	const struct config_side *l, *r;

	CHECK(c != NULL);
	if (c == NULL)
		return;
	l = &c->side[SIDE_LOCAL];
	r = &c->side[SIDE_REMOTE];
	CHECK_STREQ(c->database, "my.db");
	CHECK_STREQ(c->logfile, "/var/log/imapsync.log");
	CHECK_STREQ(c->log_prefix, "%n:");
	CHECK_INT_EQ(c->list_mailbox_count, 3);
	if (c->list_mailbox_count == 3) {
		CHECK_MEMEQ(c->list_mailbox[0].name, c->list_mailbox[0].len,
		            "INBOX", 5);
		CHECK_MEMEQ(c->list_mailbox[1].name, c->list_mailbox[1].len,
		            "Sent Items", 10);
		CHECK_MEMEQ(c->list_mailbox[2].name, c->list_mailbox[2].len,
		            "foo*", 4);
	}
	CHECK_STREQ(c->list_select_opts, "SUBSCRIBED RECURSIVEMATCH");
	CHECK(c->ignore_re != NULL);
	CHECK(config_ignore_mailbox(c, "virtual", 7));
	CHECK(config_ignore_mailbox(c, "virtual\0all", 11));
	CHECK(!config_ignore_mailbox(c, "virtually", 9));
	CHECK(!config_ignore_mailbox(c, "INBOX", 5));
	CHECK_INT_EQ(c->line[CONFIG_DATABASE], 3);

	CHECK_INT_EQ(l->type, CONFIG_TYPE_TUNNEL);
	CHECK_STREQ(l->command, "doveadm exec imap");
	CHECK(l->port == NULL);
	CHECK(l->null_stderr);
	CHECK(!l->compress && l->line[CONFIG_COMPRESS] == 16);
	CHECK_STREQ(l->list_reference, "ref/");
	CHECK_STREQ(l->username, "common");
	CHECK_INT_EQ(l->line[CONFIG_USERNAME], 10);

	CHECK_INT_EQ(r->type, CONFIG_TYPE_IMAP);
	CHECK_STREQ(r->host, "[192.0.2.1]");
	CHECK_STREQ(r->port, "imap");
	CHECK_STREQ(r->proxy, "socks5h://u:p@proxy:1080");
	CHECK(!r->starttls);
	CHECK_STREQ(r->auth, "PLAIN");
	CHECK_STREQ(r->username, "common");
	CHECK_STREQ(r->password, "s3cr=t");
	CHECK(r->compress && r->line[CONFIG_COMPRESS] == 0);
	CHECK_STREQ(r->list_reference, "other/");
	CHECK_STREQ(r->ssl_protocols, "!SSLv3 TLSv1.2 TLSv1.3");
	CHECK_STREQ(r->ssl_protocol_min, "TLSv1.2");
	CHECK_STREQ(r->ssl_protocol_max, "TLSv1.3");
	CHECK_STREQ(r->ssl_fingerprint, "sha256$0A1b abcdef");
	CHECK_STREQ(r->ssl_cipherlist, "HIGH:!aNULL");
	CHECK_STREQ(r->ssl_ciphersuites, "");
	CHECK_STREQ(r->ssl_hostname, "imap.example.org");
	CHECK(!r->ssl_verify);
	CHECK_STREQ(r->ssl_capath, "/etc/ssl/certs");
	CHECK_STREQ(r->ssl_cafile, "/etc/ssl/ca.pem");
	CHECK(r->line[CONFIG_TYPE] == 19 && r->section_line == 18);
	CHECK_INT_EQ(c->warning_count, 0);
	config_free(&c);
}

TEST(config_tiny_syntax)
{
	/* inline " ; " comments, CR and CRLF line ends, blanks around
	 * sections and keys, values keeping quotes and '=', repeated
	 * sections merging, the last value winning */
	const char *text = "  [ local ]  \r\n"
	                   "host = a ; comment\r"
	                   "host=b#not a comment ;x\r\r\n"
	                   "[remote]\n"
	                   "  command  =  \"ssh\" -C = x  \n"
	                   "[local]\n"
	                   "port = 1 ;\n"
	                   "username = u;v ; w\n";
	struct config *c = load(text, NULL);

	CHECK(c != NULL);
	if (c == NULL)
		return;
	CHECK_STREQ(c->side[SIDE_LOCAL].host, "b#not a comment ;x");
	CHECK_INT_EQ(c->side[SIDE_LOCAL].line[CONFIG_HOST], 3);
	CHECK_STREQ(c->side[SIDE_REMOTE].command, "\"ssh\" -C = x");
	CHECK_INT_EQ(c->side[SIDE_REMOTE].line[CONFIG_COMMAND], 5);
	CHECK_STREQ(c->side[SIDE_LOCAL].port, "1 ;");
	CHECK_STREQ(c->side[SIDE_LOCAL].username, "u;v");
	CHECK_INT_EQ(c->side[SIDE_LOCAL].section_line, 1);
	config_free(&c);
}

TEST(default_section_inherited)
{
	const char *text = "type = tunnel\n"
	                   "host = example.org\n"
	                   "list-reference = x/\n"
	                   "[local]\n"
	                   "host = here\n"
	                   "[remote]\n";
	struct config *c = load(text, NULL);
	char *path = NULL;
	const char *error;

	CHECK(c != NULL);
	if (c == NULL)
		return;
	CHECK_INT_EQ(c->side[SIDE_LOCAL].type, CONFIG_TYPE_TUNNEL);
	CHECK_INT_EQ(c->side[SIDE_REMOTE].type, CONFIG_TYPE_TUNNEL);
	CHECK_INT_EQ(c->side[SIDE_REMOTE].line[CONFIG_TYPE], 1);
	CHECK_STREQ(c->side[SIDE_LOCAL].host, "here");
	CHECK_STREQ(c->side[SIDE_REMOTE].host, "example.org");
	CHECK_STREQ(c->side[SIDE_REMOTE].list_reference, "x/");
	setenv("XDG_DATA_HOME", "/xdg/data", 1);
	CHECK_INT_EQ(config_database_path(c, &path, &error), 0);
	CHECK_STREQ(path, "/xdg/data/imapsync/example.org.db");
	free(path);
	config_free(&c);
}

TEST(paths)
{
	struct config *c = load("type=tunnel\n[local]\n[remote]\n", NULL);
	char *path = NULL;
	const char *error;

	CHECK(c != NULL);
	if (c == NULL)
		return;
	setenv("HOME", "/home/u", 1);
	unsetenv("XDG_DATA_HOME");
	unsetenv("XDG_CONFIG_HOME");
	CHECK_INT_EQ(config_database_path(c, &path, &error), 0);
	CHECK_STREQ(path, "/home/u/.local/share/imapsync/localhost.db");
	free(path);
	setenv("XDG_DATA_HOME", "relative/ignored", 1);
	CHECK_INT_EQ(config_database_path(c, &path, &error), 0);
	CHECK_STREQ(path, "/home/u/.local/share/imapsync/localhost.db");
	free(path);
	free(c->database);
	c->database = strdup("/abs/state.db");
	CHECK_INT_EQ(config_database_path(c, &path, &error), 0);
	CHECK_STREQ(path, "/abs/state.db");
	free(path);
	free(c->database);
	c->database = strdup("sub/x.db");
	setenv("XDG_DATA_HOME", "/d", 1);
	CHECK_INT_EQ(config_database_path(c, &path, &error), 0);
	CHECK_STREQ(path, "/d/imapsync/sub/x.db");
	free(path);
	config_free(&c);

	CHECK_INT_EQ(config_resolve_path(NULL, &path, &error), 0);
	CHECK_STREQ(path, "/home/u/.config/imapsync/config");
	free(path);
	setenv("XDG_CONFIG_HOME", "/cfg", 1);
	CHECK_INT_EQ(config_resolve_path("work", &path, &error), 0);
	CHECK_STREQ(path, "/cfg/imapsync/work");
	free(path);
	CHECK_INT_EQ(config_resolve_path("/etc/x", &path, &error), 0);
	CHECK_STREQ(path, "/etc/x");
	free(path);
	unsetenv("XDG_CONFIG_HOME");
	unsetenv("HOME");
	path = NULL;
	CHECK(config_resolve_path("rel", &path, &error) < 0);
	CHECK(path == NULL && strstr(error, "HOME") != NULL);
}

static void
check_list(const char *value, const char *const *names, const size_t *lens,
           size_t count)
{
	char text[512];
	struct config *c;
	const char *error = NULL;

	snprintf(text, sizeof(text), "list-mailbox = %s\n[local]\n[remote]\n",
	         value);
	c = load(text, &error);
	CHECK(c != NULL);
	if (c == NULL) {
		printf("# %s: %s\n", value, error);
		return;
	}
	CHECK_INT_EQ(c->list_mailbox_count, count);
	for (size_t i = 0; i < count && i < c->list_mailbox_count; i++)
		CHECK_MEMEQ(c->list_mailbox[i].name, c->list_mailbox[i].len,
		            names[i], lens[i]);
	config_free(&c);
}

TEST(list_mailbox)
{
	static const char *const n1[] = {"foo\0bar", "INBOX"};
	static const size_t l1[] = {7, 5};
	static const char *const n2[] = {"a b",  "q\"\\", "\t\n\r\a\b\f",
	                                 "v\0x", "%",     "x\x7f"};
	static const size_t l2[] = {3, 3, 6, 3, 1, 2};
	static const char *const n3[] = {"[Gmail]/All", "&AOk-t&AOk-"};
	static const size_t l3[] = {11, 11};

	check_list("\"foo\\x00bar\"   INBOX", n1, l1, 2);
	/* \v is a plain "v" to interimap (Perl has no \v escape); \0 is
	 * NUL and never octal */
	check_list("\"a b\" \"q\\\"\\\\\" \"\\t\\n\\r\\a\\b\\f\" \"\\v\\0x\" "
	           "% \"x\\x7F\"",
	           n2, l2, 6);
	check_list("[Gmail]/All &AOk-t&AOk-", n3, l3, 2);

	CHECK_STREQ(load_error("list-mailbox = a \"\"\n[local]\n[remote]\n"),
	            "config:1: invalid value for list-mailbox: a \"\"");
	CHECK_STREQ(load_error("list-mailbox = a\"b\"\n[local]\n[remote]\n"),
	            "config:1: invalid value for list-mailbox: a\"b\"");
	CHECK_STREQ(load_error("list-mailbox = (a)\n[local]\n[remote]\n"),
	            "config:1: invalid value for list-mailbox: (a)");
	CHECK_STREQ(load_error("list-mailbox = \"\\x4\"\n[local]\n[remote]\n"),
	            "config:1: invalid value for list-mailbox: \"\\x4\"");
	CHECK_STREQ(load_error("list-mailbox = \"\\e\"\n[local]\n[remote]\n"),
	            "config:1: invalid value for list-mailbox: \"\\e\"");
	CHECK_STREQ(load_error("list-mailbox = \"open\n[local]\n[remote]\n"),
	            "config:1: invalid value for list-mailbox: \"open");
	CHECK_STREQ(load_error("list-mailbox = caf\xc3\xa9\n[local]\n"
	                       "[remote]\n"),
	            "config:1: invalid value for list-mailbox: caf\xc3\xa9");
}

static const struct {
	const char *fmt, *name, *mailbox, *want;
} log_prefix_cases[] = {
    /* generated from interimap 0.5.7's _logger_prefix() in Perl */
    {"%?n?%?m?%n(%m)&%n?: ?", NULL, NULL, ""},
    {"%?n?%?m?%n(%m)&%n?: ?", "local", NULL, "local: "},
    {"%?n?%?m?%n(%m)&%n?: ?", "remote", "INBOX", "remote(INBOX): "},
    {"%?n?%?m?%n(%m)&%n?: ?", "", "a/b", ""},
    {"%%?n?x?", NULL, NULL, "%"},
    {"%%?n?x?", "local", NULL, "%x"},
    {"%%?n?x?", "remote", "INBOX", "%x"},
    {"%%?n?x?", "", "a/b", "%"},
    {"a\\&b%?m?[\\?%m\\&]&none?", NULL, NULL, "a&bnone"},
    {"a\\&b%?m?[\\?%m\\&]&none?", "local", NULL, "a&bnone"},
    {"a\\&b%?m?[\\?%m\\&]&none?", "remote", "INBOX", "a&b[?INBOX&]"},
    {"a\\&b%?m?[\\?%m\\&]&none?", "", "a/b", "a&b[?a/b&]"},
    {"%?x?yes&no?", NULL, NULL, "no"},
    {"%?x?yes&no?", "local", NULL, "no"},
    {"%?x?yes&no?", "remote", "INBOX", "no"},
    {"%?x?yes&no?", "", "a/b", "no"},
    {"%?n?a%?q?b&c?d&e?", NULL, NULL, "e"},
    {"%?n?a%?q?b&c?d&e?", "local", NULL, "acd"},
    {"%?n?a%?q?b&c?d&e?", "remote", "INBOX", "acd"},
    {"%?n?a%?q?b&c?d&e?", "", "a/b", "e"},
    {"%?n?unterminated", NULL, NULL, "%?n?unterminated"},
    {"%?n?unterminated", "local", NULL, "%?n?unterminated"},
    {"%?n?unterminated", "remote", "INBOX", "%?n?unterminated"},
    {"%?n?unterminated", "", "a/b", "%?n?unterminated"},
    {"100%% %n %m %z", NULL, NULL, "100%   %z"},
    {"100%% %n %m %z", "local", NULL, "100% local  %z"},
    {"100%% %n %m %z", "remote", "INBOX", "100% remote INBOX %z"},
    {"100%% %n %m %z", "", "a/b", "100%  a/b %z"},
    {"%?n?\\x?", NULL, NULL, "%?n?\\x?"},
    {"%?n?\\x?", "local", NULL, "%?n?\\x?"},
    {"%?n?\\x?", "remote", "INBOX", "%?n?\\x?"},
    {"%?n?\\x?", "", "a/b", "%?n?\\x?"},
    {"%?m?%?n?%n:%m&?%m?", NULL, NULL, ""},
    {"%?m?%?n?%n:%m&?%m?", "local", NULL, ""},
    {"%?m?%?n?%n:%m&?%m?", "remote", "INBOX", "remote:INBOXINBOX"},
    {"%?m?%?n?%n:%m&?%m?", "", "a/b", "a/b"},
    {"\\\\%n\\\\\\?", NULL, NULL, "\\\\?"},
    {"\\\\%n\\\\\\?", "local", NULL, "\\local\\?"},
    {"\\\\%n\\\\\\?", "remote", "INBOX", "\\remote\\?"},
    {"\\\\%n\\\\\\?", "", "a/b", "\\\\?"},
    {"%?n?a&b&c?", NULL, NULL, "%?n?a&b&c?"},
    {"%?n?a&b&c?", "local", NULL, "%?n?a&b&c?"},
    {"%?n?a&b&c?", "remote", "INBOX", "%?n?a&b&c?"},
    {"%?n?a&b&c?", "", "a/b", "%?n?a&b&c?"},
    {"%?n?%?m?x?", NULL, NULL, "%?n?"},
    {"%?n?%?m?x?", "local", NULL, "%?n?"},
    {"%?n?%?m?x?", "remote", "INBOX", "%?n?x"},
    {"%?n?%?m?x?", "", "a/b", "%?n?x"},
    {"%?n??%?m?&?", NULL, NULL, ""},
    {"%?n??%?m?&?", "local", NULL, ""},
    {"%?n??%?m?&?", "remote", "INBOX", ""},
    {"%?n??%?m?&?", "", "a/b", ""},
    {"%", NULL, NULL, "%"},
    {"%", "local", NULL, "%"},
    {"%", "remote", "INBOX", "%"},
    {"%", "", "a/b", "%"},
    {"%?", NULL, NULL, "%?"},
    {"%?", "local", NULL, "%?"},
    {"%?", "remote", "INBOX", "%?"},
    {"%?", "", "a/b", "%?"},
    {"%?n", NULL, NULL, "%?n"},
    {"%?n", "local", NULL, "%?n"},
    {"%?n", "remote", "INBOX", "%?n"},
    {"%?n", "", "a/b", "%?n"},
    {"%?n?", NULL, NULL, "%?n?"},
    {"%?n?", "local", NULL, "%?n?"},
    {"%?n?", "remote", "INBOX", "%?n?"},
    {"%?n?", "", "a/b", "%?n?"},
    {"%?n??", NULL, NULL, ""},
    {"%?n??", "local", NULL, ""},
    {"%?n??", "remote", "INBOX", ""},
    {"%?n??", "", "a/b", ""},
    {"[%n] %?m?%m: ?", NULL, NULL, "[] "},
    {"[%n] %?m?%m: ?", "local", NULL, "[local] "},
    {"[%n] %?m?%m: ?", "remote", "INBOX", "[remote] INBOX: "},
    {"[%n] %?m?%m: ?", "", "a/b", "[] a/b: "},
    {"%?m?a%&b&c?", NULL, NULL, "c"},
    {"%?m?a%&b&c?", "local", NULL, "c"},
    {"%?m?a%&b&c?", "remote", "INBOX", "a%&b"},
    {"%?m?a%&b&c?", "", "a/b", "a%&b"},
};

TEST(log_prefix)
{
	struct buf *b = buf_create(256);
	size_t i;

	for (i = 0; i < sizeof(log_prefix_cases) / sizeof(log_prefix_cases[0]);
	     i++) {
		buf_reset(b);
		CHECK(config_log_prefix_format(
		          log_prefix_cases[i].fmt, log_prefix_cases[i].name,
		          log_prefix_cases[i].mailbox, b) == 0);
		if (!CHECK_STREQ(buf_data(b), log_prefix_cases[i].want))
			printf("# fmt %s: got [%s] want [%s]\n",
			       log_prefix_cases[i].fmt, buf_data(b),
			       log_prefix_cases[i].want);
	}
	buf_free(&b);

	/* the cap of the output buffer holds */
	b = buf_create(8);
	CHECK_INT_EQ(config_log_prefix_format("%n", "remote", "x", b), 0);
	CHECK_INT_EQ(config_log_prefix_format("%m%n", "remote", "x", b), -1);
	buf_free(&b);
}

TEST(errors_name_file_and_line)
{
	CHECK_STREQ(load_error("[local]\nfoo = bar\n[remote]\n"),
	            "config:2: unknown option \"foo\"");
	CHECK_STREQ(load_error("[local]\nstarttls = YES\n[remote]\n"),
	            "config:2: unknown option \"starttls\" (did you mean "
	            "\"STARTTLS\"?)");
	CHECK_STREQ(load_error("[local]\ncomand = x\n[remote]\n"),
	            "config:2: unknown option \"comand\" (did you mean "
	            "\"command\"?)");
	CHECK_STREQ(load_error("databse = x\n[local]\n[remote]\n"),
	            "config:1: unknown option \"databse\" (did you mean "
	            "\"database\"?)");
	CHECK_STREQ(load_error("[local]\npasword-command = x\n[remote]\n"),
	            "config:2: unknown option \"pasword-command\" (did you "
	            "mean \"password-command\"?)");
	CHECK_STREQ(
	    load_error("[local]\n\njust words\n[remote]\n"),
	    "config:3: syntax error: expected KEY = VALUE or [SECTION]");
	CHECK_STREQ(
	    load_error("= value\n[local]\n[remote]\n"),
	    "config:1: syntax error: expected KEY = VALUE or [SECTION]");
	CHECK_STREQ(load_error("[local]\ntype = imap4\n[remote]\n"),
	            "config:2: invalid value for type: imap4");
	CHECK_STREQ(load_error("[local]\ntype = TUNNEL\n[remote]\n"),
	            "config:2: invalid value for type: TUNNEL");
	CHECK_STREQ(load_error("[local]\n[remote]\ncompress = maybe\n"),
	            "config:3: invalid value for compress: maybe");
	CHECK_STREQ(load_error("[local]\n[remote]\nhost =\n"),
	            "config:3: invalid value for host: ");
	CHECK_STREQ(load_error("logfile = rel.log\n[local]\n[remote]\n"),
	            "config:1: invalid value for logfile: rel.log (must be "
	            "an absolute path)");
	CHECK_STREQ(load_error("[local]\nauth = PLAIN  LOGIN\n[remote]\n"),
	            "config:2: invalid value for auth: PLAIN  LOGIN");
	CHECK_STREQ(load_error("[local]\nSSL_protocols = TLSv2\n[remote]\n"),
	            "config:2: invalid value for SSL_protocols: TLSv2");
	CHECK_STREQ(load_error("[local]\nSSL_fingerprint = sha256$xyz\n"
	                       "[remote]\n"),
	            "config:2: invalid value for SSL_fingerprint: sha256$xyz");
	CHECK_STREQ(load_error("list-select-opts = (x)\n[local]\n[remote]\n"),
	            "config:1: invalid value for list-select-opts: (x)");
	CHECK_STREQ(load_error("[local]\npassword = p\xc3\xa4ss\n[remote]\n"),
	            "config:2: invalid value for password (ASCII expected)");
	CHECK_STREQ(load_error("[local]\ncommand = a\tb\n[remote]\n"),
	            "config:2: invalid value for command: a\tb");
	CHECK_STREQ(load_error("[local]\n"), "config: no [remote] section");
	CHECK_STREQ(load_error("[remote]\n[Local]\n"),
	            "config: no [local] section");
	/* only the last value of a key counts, as in interimap */
	CHECK_STREQ(load_error("type = bad\ntype = tunnel\n[local]\n"
	                       "[remote]\n"),
	            "(loaded)");
	CHECK_STREQ(load_error("ignore-mailbox = ^(unclosed\n[local]\n"
	                       "[remote]\n"),
	            "config:1: ignore-mailbox: bad regular expression at "
	            "offset 10: missing closing parenthesis");
}

TEST(missing_file)
{
	struct config *c = NULL;
	const char *error = NULL;

	CHECK(config_load("/nonexistent/imapsync/config", &c, &error) < 0);
	CHECK(c == NULL);
	CHECK_STREQ(error, "/nonexistent/imapsync/config: cannot open config "
	                   "file: No such file or directory");
}

TEST(warnings)
{
	const char *text = "[local]\npassword = x\n[remote]\n"
	                   "database = ignored.db\n[other]\nfoo = bar\n";
	const char *path = write_config("config-pw", text, 0644);
	struct config *c = NULL;
	const char *error = NULL;

	CHECK_INT_EQ(config_load(path, &c, &error), 0);
	if (c == NULL)
		return;
	CHECK(c->database == NULL);
	CHECK_INT_EQ(c->warning_count, 3);
	if (c->warning_count == 3) {
		CHECK(strstr(c->warnings[0], "config-pw:5: section [other]") !=
		      NULL);
		CHECK(strstr(c->warnings[1],
		             "config-pw:4: database is only read from the "
		             "default section") != NULL);
		CHECK(strstr(c->warnings[2], "holds a password but its mode "
		                             "is 0644") != NULL);
	}
	config_free(&c);
	chmod(path, 0600);
	CHECK_INT_EQ(config_load(path, &c, &error), 0);
	CHECK(c != NULL && c->warning_count == 2);
	config_free(&c);
	remove_config(path);
}

static const char *
check_supported(const char *text)
{
	const char *error = NULL, *slash;
	struct config *c = load(text, &error);

	if (c == NULL)
		return error;
	if (config_check_supported(c, &error) == 0)
		error = "(supported)";
	config_free(&c);
	slash = strstr(error, "/config:");
	return slash != NULL ? slash + 1 : error;
}

TEST(check_supported)
{
	CHECK_STREQ(check_supported("[local]\ntype=tunnel\ncommand=x\n"
	                            "[remote]\ntype=tunnel\ncommand=y\n"),
	            "(supported)");
	CHECK_STREQ(check_supported("type=tunnel\nnull-stderr=YES\n"
	                            "compress=NO\n[local]\ncommand=x\n"
	                            "[remote]\ncommand=y\n"),
	            "(supported)");
	CHECK_STREQ(check_supported("[local]\ntype=tunnel\ncommand=x\n"
	                            "[remote]\ntype=imaps\n"),
	            "(supported)");
	CHECK_STREQ(check_supported("[local]\n\n[remote]\n"), "(supported)");
	CHECK_STREQ(check_supported("type=tunnel\n[local]\n[remote]\n"),
	            "config:2: [local] type=tunnel needs a command");
	/* every network key is taken now */
	static const char *const keys[] = {
	    "proxy=socks5://h",
	    "proxy=socks5h://u:p@[::1]:1080",
	    "STARTTLS=NO",
	    "auth=PLAIN",
	    "username=u",
	    "password=p",
	    "password-command=pass show mail",
	    "SSL_verify=YES",
	    "SSL_CAfile=/x",
	    "SSL_CApath=/x",
	    "SSL_hostname=",
	    "SSL_fingerprint=ab",
	    "SSL_protocols=TLSv1.2",
	    "SSL_protocol_min=TLSv1.2",
	    "SSL_protocol_max=TLSv1.3",
	    "SSL_cipherlist=HIGH",
	    "SSL_ciphersuites=",
	    "compress=YES",
	};
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		char text[256];

		snprintf(text, sizeof(text),
		         "type=imap\n[local]\ntype=tunnel\ncommand=c\n"
		         "[remote]\n%s\n",
		         keys[i]);
		CHECK_STREQ(check_supported(text), "(supported)");
	}
	CHECK_STREQ(check_supported("[local]\n[remote]\nproxy=http://h:3128\n"),
	            "config:3: [remote] invalid proxy: expected "
	            "socks5://[user[:password]@]host[:port] or "
	            "socks5h://...");
	CHECK_STREQ(check_supported("[local]\n[remote]\nproxy=socks5://h:x\n"),
	            "config:3: [remote] invalid proxy: expected "
	            "socks5://[user[:password]@]host[:port] or "
	            "socks5h://...");
	CHECK_STREQ(check_supported("[local]\nSSL_protocol_min=!TLSv1\n"
	                            "[remote]\n"),
	            "config:2: [local] invalid SSL_protocol_min: !TLSv1 "
	            "(TLSv1, TLSv1.1, TLSv1.2 or TLSv1.3)");
	CHECK_STREQ(check_supported("[local]\n[remote]\npassword=a\n"
	                            "password-command=echo a\n"),
	            "config:4: [remote] password and password-command are "
	            "both set: keep one");
}

TEST(socks5_url)
{
	struct transport_socks5_url u;
	const char *error;

	CHECK_INT_EQ(transport_socks5_parse_url("socks5://proxy", &u, &error), 0);
	CHECK_STREQ(u.host, "proxy");
	CHECK_STREQ(u.port, "1080");
	CHECK(!u.remote_dns && !u.has_user);
	CHECK(transport_socks5_parse_url("socks5h://me:p%40ss@[::1]:9050/",
	                                 &u, &error) == 0);
	CHECK_STREQ(u.host, "[::1]");
	CHECK_STREQ(u.port, "9050");
	CHECK_STREQ(u.user, "me");
	CHECK_STREQ(u.password, "p@ss");
	CHECK(u.remote_dns && u.has_user);
	CHECK_INT_EQ(transport_socks5_parse_url("socks5://u@h:1", &u, &error), 0);
	CHECK_STREQ(u.user, "u");
	CHECK_STREQ(u.password, "");
	CHECK_INT_EQ(transport_socks5_parse_url("socks4://h", &u, &error), -1);
	CHECK_INT_EQ(transport_socks5_parse_url("socks5://", &u, &error), -1);
	CHECK_INT_EQ(transport_socks5_parse_url("socks5://h:", &u, &error), -1);
	CHECK_INT_EQ(transport_socks5_parse_url("socks5://[::1", &u, &error), -1);
	CHECK_INT_EQ(transport_socks5_parse_url("socks5://:p@h", &u, &error), -1);
	CHECK_INT_EQ(transport_socks5_parse_url("socks5://u:%4@h", &u, &error), -1);
	CHECK(transport_socks5_parse_url("socks5://u:%00@h", &u, &error) ==
	      -1);
}

TEST(safety_expunge)
{
	struct config *c = NULL;
	const char *error;
	char path[] = "/tmp/imapsync-test-config-XXXXXX";
	int fd = mkstemp(path);
	static const char body[] = "safety-expunge = 20%\n"
	                           "[local]\ntype = tunnel\ncommand = x\n"
	                           "[remote]\ntype = tunnel\ncommand = y\n";

	CHECK(fd >= 0 && write(fd, body, sizeof(body) - 1) ==
	                     (ssize_t)(sizeof(body) - 1));
	close(fd);
	CHECK_INT_EQ(config_load(path, &c, &error), 0);
	CHECK(c != NULL && c->safety_expunge == 20);
	config_free(&c);
	fd = open(path, O_WRONLY | O_TRUNC);
	CHECK(fd >= 0 && write(fd, "safety-expunge = 101\n", 21) == 21 &&
	      write(fd, body + 21, sizeof(body) - 22) ==
	          (ssize_t)(sizeof(body) - 22));
	close(fd);
	CHECK_INT_EQ(config_load(path, &c, &error), -1);
	CHECK(error != NULL && strstr(error, "safety-expunge") != NULL);
	fd = open(path, O_WRONLY | O_TRUNC);
	CHECK(fd >= 0 && write(fd, body + 21, sizeof(body) - 22) ==
	                     (ssize_t)(sizeof(body) - 22));
	close(fd);
	CHECK_INT_EQ(config_load(path, &c, &error), 0);
	CHECK(c != NULL &&
	      c->safety_expunge == CONFIG_DEFAULT_SAFETY_EXPUNGE);
	config_free(&c);
	unlink(path);
}

TEST(database_check)
{
	char dir[] = "/tmp/test-dbcheck.XXXXXX", path[128], link[128];
	const char *error = NULL;
	FILE *f;

	if (mkdtemp(dir) == NULL)
		abort();
	snprintf(path, sizeof(path), "%s/real.db", dir);
	snprintf(link, sizeof(link), "%s/link.db", dir);
	chmod(dir, 0700);
	CHECK_INT_EQ(config_database_check(path, &error), 0);
	f = fopen(path, "w");
	if (f != NULL)
		fclose(f);
	CHECK_INT_EQ(config_database_check(path, &error), 0);
	CHECK_INT_EQ(symlink(path, link), 0);
	CHECK(config_database_check(link, &error) < 0);
	CHECK(error != NULL && strstr(error, "is a symbolic link") != NULL);
	CHECK(config_database_check(dir, &error) < 0);
	CHECK(error != NULL && strstr(error, "not a regular file") != NULL);
	chmod(dir, 0777);
	CHECK(config_database_check(path, &error) < 0);
	CHECK(error != NULL &&
	      strstr(error, "is writable by group or others") != NULL);
	chmod(dir, 01777);
	CHECK(config_database_check(path, &error) < 0);
	chmod(dir, 0750);
	CHECK_INT_EQ(config_database_check(path, &error), 0);
	unlink(link);
	unlink(path);
	rmdir(dir);
}

/* Whether one of c's warnings contains text. */
static bool
has_warning(const struct config *c, const char *text)
{
	for (size_t i = 0; i < c->warning_count; i++) {
		if (strstr(c->warnings[i], text) != NULL)
			return true;
	}
	return false;
}

TEST(file_trust_warnings)
{
	const char *path;
	struct config *c = NULL;
	const char *error = NULL;

	path = write_config("config-ww",
	                    "[local]\ntype=tunnel\ncommand=x\n[remote]\n",
	                    0666);
	CHECK_INT_EQ(config_load(path, &c, &error), 0);
	CHECK(c != NULL && has_warning(c, "is writable by group or others "
	                                  "(mode 0666), who choose the "
	                                  "commands"));
	config_free(&c);
	chmod(path, 0644);
	CHECK_INT_EQ(config_load(path, &c, &error), 0);
	CHECK(c != NULL && c->warning_count == 0);
	config_free(&c);
	if (geteuid() == 0) {
		CHECK_INT_EQ(chown(path, 65534, 65534), 0);
		CHECK_INT_EQ(config_load(path, &c, &error), 0);
		CHECK(c != NULL &&
		      has_warning(c, "belongs to uid 65534, not to you"));
		config_free(&c);
	}
	remove_config(path);

	path = write_config("config-proxy",
	                    "[local]\ntype=tunnel\ncommand=x\n[remote]\n"
	                    "proxy = socks5://u:secret@127.0.0.1:1080\n",
	                    0640);
	CHECK_INT_EQ(config_load(path, &c, &error), 0);
	CHECK(c != NULL && has_warning(c, "holds a password but its mode "
	                                  "is 0640"));
	config_free(&c);
	remove_config(path);
	path = write_config("config-proxy-nopw",
	                    "[local]\ntype=tunnel\ncommand=x\n[remote]\n"
	                    "proxy = socks5://u@127.0.0.1:1080\n",
	                    0640);
	CHECK_INT_EQ(config_load(path, &c, &error), 0);
	CHECK(c != NULL && c->warning_count == 0);
	config_free(&c);
	remove_config(path);
}

TEST(password_command_timeout)
{
	struct config *c = load("password-command-timeout = 5\n[local]\n"
	                        "[remote]\npassword-command-timeout = 0\n",
	                        NULL);

	CHECK(c != NULL);
	if (c == NULL)
		return;
	CHECK_INT_EQ(c->side[SIDE_LOCAL].password_command_timeout, 5);
	CHECK_INT_EQ(c->side[SIDE_REMOTE].password_command_timeout, 0);
	config_free(&c);
	c = load("[local]\n[remote]\n", NULL);
	CHECK(c != NULL && c->side[SIDE_REMOTE].password_command_timeout ==
	                       CONFIG_DEFAULT_PASSWORD_COMMAND_TIMEOUT);
	config_free(&c);
	CHECK_STREQ(load_error("[local]\n[remote]\n"
	                       "password-command-timeout = soon\n"),
	            "config:3: invalid value for password-command-timeout: "
	            "soon");
}

TEST(timeouts)
{
	struct config *c = load("[local]\n[remote]\n", NULL);

	CHECK(c != NULL && c->timeout == CONFIG_DEFAULT_TIMEOUT &&
	      c->connect_timeout == CONFIG_DEFAULT_CONNECT_TIMEOUT);
	config_free(&c);
	c = load("timeout = 7\nconnect-timeout = 3\n[local]\n[remote]\n", NULL);
	CHECK(c != NULL && c->timeout == 7 && c->connect_timeout == 3);
	config_free(&c);
	CHECK_STREQ(load_error("timeout = 0\n[local]\n[remote]\n"),
	            "config:1: invalid value for timeout: 0");
	CHECK_STREQ(load_error("connect-timeout = 86401\n[local]\n[remote]\n"),
	            "config:1: invalid value for connect-timeout: 86401");
	CHECK_STREQ(load_error("timeout = 5s\n[local]\n[remote]\n"),
	            "config:1: invalid value for timeout: 5s");
}
