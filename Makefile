# imapsync: GNU Makefile. `make check` is the one command for the tests.
#
# Objects go under $(BUILD) (default build/); `make SAN=1` builds with
# AddressSanitizer and UBSan (tests/check.sh uses BUILD=build-san SAN=1).

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
LIBEXECDIR ?= $(PREFIX)/lib/imapsync
MANDIR ?= $(PREFIX)/share/man
DOCDIR ?= $(PREFIX)/share/doc/imapsync
SYSTEMDUSERDIR ?= $(PREFIX)/lib/systemd/user
DESTDIR ?=
# The installed program's name: another "imapsync" (the unrelated migration
# tool) may own the default one; `make install` does not replace it unless
# FORCE=1.
PROGRAM ?= imapsync
FORCE ?=
# Binaries are stripped on install; INSTALL_STRIP= keeps the symbols.
INSTALL_STRIP ?= -s

BUILD ?= build
# One name per object: an absolute BUILD inside the tree (the tests pass
# one) would write dependency files under other target names, and a
# later `make` would miss the headers an object depends on.
override BUILD := $(patsubst $(CURDIR)/%,%,$(BUILD))
SAN ?=
CC ?= cc
CLANG ?= clang
PKG_CONFIG ?= pkg-config

PKGS ?= openssl zlib libsodium sqlite3 libpcre2-8
PKG_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null)

CFLAGS ?= -O2 -g
WARN := -Wall -Wextra -Werror -Wshadow -Wmissing-prototypes \
	-Wstrict-prototypes -Wno-unused-parameter -Wunused-result
XCFLAGS := -std=c11 -D_GNU_SOURCE $(WARN) -MMD -MP -Iproto -Iclient \
	$(PKG_CFLAGS)
XLDFLAGS :=
ifeq ($(SAN),1)
XCFLAGS += -fsanitize=address,undefined -fno-sanitize-recover=all \
	-fno-omit-frame-pointer
XLDFLAGS += -fsanitize=address,undefined
endif
LIBS := $(PKG_LIBS)

PROTO_SRC := $(wildcard proto/*.c)
PROTO_OBJ := $(PROTO_SRC:%.c=$(BUILD)/%.o)
CLIENT_MAIN := $(wildcard client/main.c)
# client/sync-step.c is linked by name, not from libclient.a: the programs
# users run get it plain; the tests' imapsync-hooks gets it with
# -DIMAPSYNC_TEST_HOOKS (IMAPSYNC_DEBUG_EXIT_AT), which nothing installed
# has, whichever target built the tree.
CLIENT_SRC := $(filter-out client/main.c client/sync-step.c,\
	$(wildcard client/*.c))
CLIENT_OBJ := $(CLIENT_SRC:%.c=$(BUILD)/%.o)
STEP_OBJ := $(BUILD)/client/sync-step.o
HOOKS_OBJ := $(BUILD)/tests/sync-step-hooks.o
HOOKS_BIN := $(if $(CLIENT_MAIN),$(BUILD)/tests/imapsync-hooks)

UNIT_SRC := $(filter-out tests/unit/test-main.c,$(wildcard tests/unit/test-*.c))
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
# C programs the integration scripts drive.
ITEST_SRC := $(wildcard tests/integration/*.c)
ITEST_BIN := $(ITEST_SRC:tests/integration/%.c=$(BUILD)/tests/%)
FUZZ_SRC := $(wildcard tests/fuzz/fuzz-*.c)
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/fuzz/%)
BENCH_BIN := $(patsubst %.c,$(BUILD)/%,$(wildcard bench/*.c))
BENCH_ARGS ?=

PROGRAMS := $(if $(CLIENT_MAIN),$(BUILD)/imapsync)

# remote-helper/: imapsync-remote, the one part built on Dovecot's lib
# (dovecot-dev), with the flags Dovecot's own dovecot-config gives. Built
# without the sanitizers: it only execs Dovecot, and Dovecot's lib keeps
# its pools to the end. Its istream.h has an old-style declaration.
DOVECOT_CONFIG ?= /usr/lib/dovecot/dovecot-config
dovecot_var = $(shell [ -r $(DOVECOT_CONFIG) ] && . $(DOVECOT_CONFIG) && \
	echo "$$$(1)")
REMOTE_SRC := $(wildcard remote-helper/*.c)
REMOTE_OBJ := $(REMOTE_SRC:%.c=$(BUILD)/%.o)
ifneq ($(REMOTE_SRC),)
ifneq ($(wildcard $(DOVECOT_CONFIG)),)
DOVECOT_CFLAGS := $(call dovecot_var,DOVECOT_CFLAGS) \
	$(call dovecot_var,LIBDOVECOT_INCLUDE) -DHAVE_CONFIG_H
LIBDOVECOT := $(call dovecot_var,LIBDOVECOT) \
	-Wl,-rpath,$(call dovecot_var,dovecot_pkglibdir)
PROGRAMS += $(BUILD)/imapsync-remote
else
REMOTE_SKIPPED := $(DOVECOT_CONFIG) not found (Debian: apt-get install \
	dovecot-dev); imapsync, the client, does not need it
endif
endif

all: $(PROGRAMS)
	$(if $(REMOTE_SKIPPED),@echo "imapsync-remote (the server's helper)" \
		"skipped: $(REMOTE_SKIPPED)" >&2)

# The libraries first, with pkg-config's own words for what is missing,
# rather than a compiler error for each header.
pkg-check:
	@$(PKG_CONFIG) --print-errors --exists $(PKGS) || { \
		echo "imapsync: missing libraries (above); on Debian," \
			"\`make deps\` installs them" >&2; exit 1; }

tests: $(PROGRAMS) $(HOOKS_BIN) $(UNIT_BIN) $(ITEST_BIN) $(BENCH_BIN)

$(BUILD)/%.o: %.c | pkg-check
	@mkdir -p $(@D)
	$(CC) $(XCFLAGS) $(CFLAGS) -c -o $@ $<

$(BUILD)/libproto.a: $(PROTO_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/libclient.a: $(CLIENT_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/imapsync: $(BUILD)/client/main.o $(STEP_OBJ) $(BUILD)/libclient.a \
		$(BUILD)/libproto.a
	$(CC) $(XLDFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS)

$(HOOKS_OBJ): client/sync-step.c
	@mkdir -p $(@D)
	$(CC) $(XCFLAGS) -DIMAPSYNC_TEST_HOOKS $(CFLAGS) -c -o $@ $<

$(BUILD)/tests/imapsync-hooks: $(BUILD)/client/main.o $(HOOKS_OBJ) \
		$(BUILD)/libclient.a $(BUILD)/libproto.a
	$(CC) $(XLDFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/remote-helper/%.o: remote-helper/%.c
	@mkdir -p $(@D)
	$(CC) $(DOVECOT_CFLAGS) $(WARN) -Wno-strict-prototypes -MMD -MP \
		$(CFLAGS) -c -o $@ $<

$(BUILD)/imapsync-remote: $(REMOTE_OBJ)
	$(CC) $(DOVECOT_CFLAGS) $(LDFLAGS) -o $@ $^ $(LIBDOVECOT)

$(BUILD)/tests/test-%: $(BUILD)/tests/unit/test-%.o \
		$(BUILD)/tests/unit/test-main.o $(STEP_OBJ) \
		$(BUILD)/libclient.a $(BUILD)/libproto.a
	$(CC) $(XLDFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/tests/%: $(BUILD)/tests/integration/%.o $(STEP_OBJ) \
		$(BUILD)/libclient.a $(BUILD)/libproto.a
	$(CC) $(XLDFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS)

# libFuzzer targets: clang, with the library compiled once for them all
# (instrumented for the fuzzer, not linked with its main).
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_CFLAGS := -std=c11 -D_GNU_SOURCE -g -O1 -Iproto $(PKG_CFLAGS) \
	$(FUZZ_SAN)
FUZZ_OBJ := $(PROTO_SRC:%.c=$(BUILD)/fuzz/%.o)
$(BUILD)/fuzz/proto/%.o: proto/%.c proto/*.h
	@mkdir -p $(@D)
	$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<
$(BUILD)/fuzz/libproto.a: $(FUZZ_OBJ)
	rm -f $@
	$(AR) rcs $@ $^
$(BUILD)/fuzz/fuzz-%: tests/fuzz/fuzz-%.c $(BUILD)/fuzz/libproto.a proto/*.h
	@mkdir -p $(@D)
	$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< \
		$(BUILD)/fuzz/libproto.a $(LIBS)

fuzz: $(FUZZ_BIN)

# Each fuzz target for a few thousand runs from its seed corpus.
fuzz-smoke: $(FUZZ_BIN)
	@tests/fuzz-smoke.sh $(BUILD)/fuzz

# The benchmark against interimap (and mbsync): bench/README.
$(BUILD)/bench/%: bench/%.c
	@mkdir -p $(@D)
	$(CC) $(XCFLAGS) $(CFLAGS) $(XLDFLAGS) $(LDFLAGS) -o $@ $<

# Then watch mode's delays (bench/watch delay): the figure the tests do
# not bound.
bench: $(PROGRAMS) $(BENCH_BIN)
	bench/run --build=$(BUILD) $(BENCH_ARGS)
	IMAPSYNC_BUILD=$(BUILD) bench/watch delay

# The model-based random test for a time budget (tests/lib/model.py):
# SOAK_SECONDS, at most SOAK_SEEDS sequences from SOAK_FIRST on, SOAK_ARGS
# for model.py (e.g. "--compare interimap", "--sides one", "--no-renames").
SOAK_SECONDS ?= 3600
SOAK_SEEDS ?= 2000
SOAK_FIRST ?= 1
SOAK_ARGS ?=
soak: $(PROGRAMS)
	IMAPSYNC_BUILD=$(CURDIR)/$(BUILD) python3 tests/lib/model.py soak \
		--seconds $(SOAK_SECONDS) --seeds $(SOAK_SEEDS) \
		--first-seed $(SOAK_FIRST) $(SOAK_ARGS)

deps:
	@mk/deps.sh

# The tests, several at a time (tests/check.sh: TESTS=, SKIP_TESTS=,
# JOBS=, KEEP=1). check-long: with the long variants (45-kill's full
# sweep); check-loaded: with every core kept busy by a busy loop.
check: deps
	@tests/check.sh

check-long: deps
	@LONG=1 tests/check.sh

check-loaded: deps
	@tests/check-loaded.sh

# The main job for real, on throwaway stores: see mk/demo.sh.
demo: deps
	@$(MAKE) -s all
	@mk/demo.sh $(BUILD)

# Each file `make install` writes, relative to $(DESTDIR); `make uninstall`
# removes the same list.
INSTALLED := $(BINDIR)/$(PROGRAM) $(MANDIR)/man1/$(PROGRAM).1 \
	$(SYSTEMDUSERDIR)/imapsync.service $(SYSTEMDUSERDIR)/imapsync@.service \
	$(DOCDIR)/README $(DOCDIR)/ssh-config.example $(DOCDIR)/config.example
ifneq ($(filter %/imapsync-remote,$(PROGRAMS)),)
INSTALLED += $(LIBEXECDIR)/imapsync-remote $(MANDIR)/man1/imapsync-remote.1
endif
# This program's binary and man page, told from another's by a sentence
# each of ours has.
OURS_BIN := Synchronize two IMAP servers both ways
OURS_MAN := unrelated to the one-way migration tool

install: all
	@for f in "$(DESTDIR)$(BINDIR)/$(PROGRAM):$(OURS_BIN)" \
		"$(DESTDIR)$(MANDIR)/man1/$(PROGRAM).1:$(OURS_MAN)"; do \
		p=$${f%%:*}; \
		[ -z "$(FORCE)" ] && [ -e "$$p" ] && \
		! grep -q "$${f#*:}" "$$p" && { \
			echo "imapsync: $$p belongs to another program" \
				"(the migration tool of the same name?):" \
				"not replaced. \`make install" \
				"PROGRAM=imapsync-qr\` installs this one" \
				"under another name; FORCE=1 replaces it." >&2; \
			exit 1; }; \
	done; exit 0
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 \
		$(DESTDIR)$(DOCDIR) $(DESTDIR)$(SYSTEMDUSERDIR)
	install -m 755 $(INSTALL_STRIP) $(BUILD)/imapsync \
		$(DESTDIR)$(BINDIR)/$(PROGRAM)
	install -m 644 client/imapsync.1 $(DESTDIR)$(MANDIR)/man1/$(PROGRAM).1
	$(if $(filter %/imapsync-remote,$(PROGRAMS)),install -d \
		$(DESTDIR)$(LIBEXECDIR) && install -m 755 $(INSTALL_STRIP) \
		$(BUILD)/imapsync-remote $(DESTDIR)$(LIBEXECDIR)/ && \
		install -m 644 remote-helper/imapsync-remote.1 \
		$(DESTDIR)$(MANDIR)/man1/)
	install -m 644 README ssh-config.example config.example \
		$(DESTDIR)$(DOCDIR)/
	for u in imapsync.service imapsync@.service; do \
		sed 's|@BINDIR@/imapsync|$(BINDIR)/$(PROGRAM)|g' \
			contrib/systemd/$$u >$(DESTDIR)$(SYSTEMDUSERDIR)/$$u && \
		chmod 644 $(DESTDIR)$(SYSTEMDUSERDIR)/$$u || exit 1; \
	done

# The files `make install` wrote, with the same PREFIX, DESTDIR and
# PROGRAM (another program's imapsync is left alone); the directories only
# if that left them empty.
uninstall:
	@for f in "$(DESTDIR)$(BINDIR)/$(PROGRAM):$(OURS_BIN)" \
		"$(DESTDIR)$(MANDIR)/man1/$(PROGRAM).1:$(OURS_MAN)"; do \
		p=$${f%%:*}; \
		if [ -e "$$p" ] && ! grep -q "$${f#*:}" "$$p"; then \
			echo "imapsync: $$p belongs to another program:" \
				"left alone" >&2; \
		else rm -f "$$p"; fi; \
	done
	rm -f $(addprefix $(DESTDIR),$(filter-out $(BINDIR)/% %.1,\
		$(INSTALLED))) \
		$(DESTDIR)$(LIBEXECDIR)/imapsync-remote \
		$(DESTDIR)$(MANDIR)/man1/imapsync-remote.1
	rmdir $(DESTDIR)$(LIBEXECDIR) $(DESTDIR)$(DOCDIR) 2>/dev/null || :

clean:
	rm -rf build build-san

.PHONY: all tests fuzz fuzz-smoke deps check check-long check-loaded demo \
	install uninstall clean bench pkg-check soak
.SECONDARY:

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
