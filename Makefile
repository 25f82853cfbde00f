# imapsync: GNU Makefile. `make check` is the one command for the tests.
#
# Objects go under $(BUILD) (default build/); `make SAN=1` builds with
# AddressSanitizer and UBSan (check.sh uses BUILD=build-san SAN=1).

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
LIBEXECDIR ?= $(PREFIX)/lib/imapsync
MANDIR ?= $(PREFIX)/share/man
SYSTEMDUSERDIR ?= $(PREFIX)/lib/systemd/user
DESTDIR ?=

BUILD ?= build
# One name per object: an absolute BUILD inside the tree (the tests pass
# one) would write dependency files under other target names, and a
# later `make` would miss the headers an object depends on.
override BUILD := $(patsubst $(CURDIR)/%,%,$(BUILD))
SAN ?=
CC ?= cc
CLANG ?= clang
PKG_CONFIG ?= pkg-config

PKGS := openssl zlib libsodium sqlite3 libpcre2-8
PKG_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null)

CFLAGS ?= -O2 -g
WARN := -Wall -Wextra -Werror -Wshadow -Wmissing-prototypes \
	-Wstrict-prototypes -Wno-unused-parameter
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
endif
endif

all: $(PROGRAMS)

tests: $(PROGRAMS) $(HOOKS_BIN) $(UNIT_BIN) $(ITEST_BIN) $(BENCH_BIN)

$(BUILD)/%.o: %.c
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

# libFuzzer targets: clang, with the library sources compiled in.
FUZZ_CFLAGS := -std=c11 -D_GNU_SOURCE -g -O1 -Iproto $(PKG_CFLAGS) \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
$(BUILD)/fuzz/fuzz-%: tests/fuzz/fuzz-%.c $(PROTO_SRC) proto/*.h
	@mkdir -p $(@D)
	$(CLANG) $(FUZZ_CFLAGS) -o $@ $< $(PROTO_SRC) $(LIBS)

fuzz: $(FUZZ_BIN)

# Each fuzz target for a few thousand runs from its seed corpus.
fuzz-smoke: $(FUZZ_BIN)
	@tests/fuzz-smoke.sh $(BUILD)/fuzz

# The benchmark against interimap (and mbsync): bench/README.
$(BUILD)/bench/%: bench/%.c
	@mkdir -p $(@D)
	$(CC) $(XCFLAGS) $(CFLAGS) $(XLDFLAGS) $(LDFLAGS) -o $@ $<

bench: $(PROGRAMS) $(BENCH_BIN)
	bench/run --build=$(BUILD) $(BENCH_ARGS)

deps:
	@mk/deps.sh

check: deps
	@tests/check.sh

# The main job for real, on throwaway stores: see mk/demo.sh.
demo: deps
	@$(MAKE) -s all
	@mk/demo.sh $(BUILD)

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1
	install -m 755 $(filter-out %/imapsync-remote,$(PROGRAMS)) \
		$(DESTDIR)$(BINDIR)/
	$(if $(filter %/imapsync-remote,$(PROGRAMS)),install -d \
		$(DESTDIR)$(LIBEXECDIR) && install -m 755 \
		$(BUILD)/imapsync-remote $(DESTDIR)$(LIBEXECDIR)/)
	install -m 644 client/imapsync.1 $(DESTDIR)$(MANDIR)/man1/
	install -d $(DESTDIR)$(SYSTEMDUSERDIR)
	for u in imapsync.service imapsync@.service; do \
		sed 's|@BINDIR@|$(BINDIR)|g' contrib/systemd/$$u \
			>$(DESTDIR)$(SYSTEMDUSERDIR)/$$u && \
		chmod 644 $(DESTDIR)$(SYSTEMDUSERDIR)/$$u || exit 1; \
	done

clean:
	rm -rf build build-san

.PHONY: all tests fuzz fuzz-smoke deps check demo install clean bench
.SECONDARY:

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
