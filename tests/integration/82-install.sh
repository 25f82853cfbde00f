#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# 82-install.sh: `make install` puts the program, the server helper, the
# man pages, the documentation and the systemd user units where they
# belong; the units start the installed program in --notify mode and pass
# systemd-analyze --user verify; another program's imapsync is not
# replaced; `make uninstall` removes it all; the build says what it skips
# and which library is missing.
. "${IMAPSYNC_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/store.sh"

[ -x "$IMAPSYNC_BUILD/imapsync" ] ||
	{ echo "1..0 # SKIP imapsync not built yet"; exit 0; }
d=$STORE_TMP/dest
units=$d/usr/lib/systemd/user
make -s -C "$IMAPSYNC_TOP" BUILD="$IMAPSYNC_BUILD" DESTDIR="$d" \
	PREFIX=/usr install >"$STORE_TMP/make.log" 2>&1
tap_result $? "make install DESTDIR=... PREFIX=/usr succeeds"
sed 's/^/# /' "$STORE_TMP/make.log"
for f in usr/bin/imapsync usr/lib/imapsync/imapsync-remote \
	usr/share/man/man1/imapsync.1 \
	usr/lib/systemd/user/imapsync.service \
	"usr/lib/systemd/user/imapsync@.service"; do
	tap_ok "installed: /$f" test -s "$d/$f"
done
tap_is "$(sed -n 's/^ExecStart=//p' "$units/imapsync.service")" \
	"/usr/bin/imapsync --notify" \
	"imapsync.service starts the installed program with --notify"
tap_is "$(sed -n 's/^ExecStart=//p' "$units/imapsync@.service")" \
	"/usr/bin/imapsync --notify --config=%E/imapsync/%i.conf" \
	"imapsync@.service starts it with ~/.config/imapsync/NAME.conf"
tap_ok "the units reload with SIGHUP" \
	grep -q '^ExecReload=/bin/kill -HUP \$MAINPID' "$units/imapsync.service"
tap_ok "the units do not restart after the brake (exit 5)" \
	grep -q '^RestartPreventExitStatus=2 5' "$units/imapsync.service"
tap_is "$(grep -hc '^KillMode=mixed$' "$units/imapsync.service" \
	"$units/imapsync@.service" | tr '\n' ' ')" "1 1 " \
	"both units stop imapsync alone first (KillMode=mixed)"
tap_is "$(cat "$units/imapsync.service" "$units/imapsync@.service" |
	grep -c 'network-online\|network\.target')" 0 \
	"no system-only target (a no-op in a user unit)"
tap_ok "the installed program runs" sh -c "\"$d/usr/bin/imapsync\" --version >/dev/null"

# systemd-analyze checks the units as the user manager reads them,
# pointed at the installed copy.
if command -v systemd-analyze >/dev/null 2>&1; then
	mkdir -m 700 "$STORE_TMP/runtime"
	for u in imapsync.service "imapsync@.service"; do
		sed -e "s|/usr/bin/imapsync|$d/usr/bin/imapsync|" \
			-e "s|%E|$STORE_TMP|" "$units/$u" >"$STORE_TMP/$u"
	done
	for u in imapsync.service imapsync@test.service; do
		XDG_RUNTIME_DIR=$STORE_TMP/runtime systemd-analyze --user \
			verify "$STORE_TMP/$u" >"$STORE_TMP/verify" 2>&1
		# No man page database in a test: only that may be said.
		tap_is "$(grep -v "Command 'man " "$STORE_TMP/verify")" "" \
			"systemd-analyze --user verify $u"
	done
else
	tap_skip 2 "systemd-analyze not installed"
fi
# The documentation directory: what the man page and the README refer to.
doc=$d/usr/share/doc/imapsync
for f in README ssh-config.example config.example; do
	tap_ok "installed: /usr/share/doc/imapsync/$f" test -s "$doc/$f"
done
if [ -x "$IMAPSYNC_BUILD/imapsync-remote" ]; then
	tap_ok "installed: the helper's man page" \
		test -s "$d/usr/share/man/man1/imapsync-remote.1"
else
	tap_skip 1 "imapsync-remote not built"
fi
if command -v readelf >/dev/null 2>&1; then
	tap_is "$(readelf -S "$d/usr/bin/imapsync" | grep -c '\.symtab')" 0 \
		"the installed program is stripped"
else
	tap_skip 1 "readelf not installed"
fi

# ssh-config.example as the user copies it: no variable that cron or
# `su -` leaves unset, and no pty.
if command -v ssh >/dev/null 2>&1; then
	env -u XDG_RUNTIME_DIR ssh -G -F "$doc/ssh-config.example" \
		imapsync-mail >"$STORE_TMP/ssh-G" 2>&1
	tap_result $? "ssh-config.example parses without XDG_RUNTIME_DIR"
	sed 's/^/# /' "$STORE_TMP/ssh-G" | grep -i 'control\|tty\|batch'
	tap_ok "its ControlPath is in ~/.ssh" \
		grep -q '^controlpath /.*/\.ssh/imapsync-[0-9a-f]*$' "$STORE_TMP/ssh-G"
	tap_ok "it asks for no pty (RequestTTY no)" \
		grep -q '^requesttty false' "$STORE_TMP/ssh-G"
else
	tap_skip 3 "ssh not installed"
fi

# config.example is a valid configuration: with both tunnels failing, the
# run gets as far as connecting (3), not a configuration error (2).
sed 's/^command = .*/command = false/' "$doc/config.example" \
	>"$STORE_TMP/config"
HOME=$STORE_TMP XDG_DATA_HOME=$STORE_TMP/data \
	"$d/usr/bin/imapsync" --config="$STORE_TMP/config" \
	>"$STORE_TMP/config.out" 2>&1
tap_is $? 3 "config.example is read without error (exit 3: no server)"
sed 's/^/# /' "$STORE_TMP/config.out"

# Another program's imapsync (the migration tool) is not replaced, unless
# FORCE=1; PROGRAM= installs this one beside it.
printf '#!/usr/bin/perl\n# imapsync, by Gilles Lamiral\n' \
	>"$d/usr/bin/imapsync"
printf '.TH IMAPSYNC 1\n.SH NAME\nimapsync \\- Email IMAP tool\n' \
	>"$d/usr/share/man/man1/imapsync.1"
make -s -C "$IMAPSYNC_TOP" BUILD="$IMAPSYNC_BUILD" DESTDIR="$d" \
	PREFIX=/usr install >"$STORE_TMP/make.log" 2>&1
tap_is $? 2 "make install stops at another program's imapsync"
sed 's/^/# /' "$STORE_TMP/make.log"
tap_ok "and says how to install under another name" \
	grep -q 'PROGRAM=' "$STORE_TMP/make.log"
tap_ok "the other program is untouched" \
	grep -q 'Lamiral' "$d/usr/bin/imapsync"
make -s -C "$IMAPSYNC_TOP" BUILD="$IMAPSYNC_BUILD" DESTDIR="$d" \
	PREFIX=/usr PROGRAM=imapsync-qr install >"$STORE_TMP/make.log" 2>&1
tap_result $? "make install PROGRAM=imapsync-qr succeeds"
tap_ok "PROGRAM= names the program and its man page" \
	test -s "$d/usr/bin/imapsync-qr" -a \
	-s "$d/usr/share/man/man1/imapsync-qr.1"
tap_is "$(sed -n 's/^ExecStart=//p' "$units/imapsync.service")" \
	"/usr/bin/imapsync-qr --notify" "the units start the renamed program"
make -s -C "$IMAPSYNC_TOP" BUILD="$IMAPSYNC_BUILD" DESTDIR="$d" \
	PREFIX=/usr PROGRAM=imapsync-qr uninstall >"$STORE_TMP/make.log" 2>&1
tap_result $? "make uninstall PROGRAM=imapsync-qr succeeds"
sed 's/^/# /' "$STORE_TMP/make.log"
tap_is "$(cd "$d" && find . -type f | sort | tr '\n' ' ')" \
	"./usr/bin/imapsync ./usr/share/man/man1/imapsync.1 " \
	"it removes all it installed, and only that"
make -s -C "$IMAPSYNC_TOP" BUILD="$IMAPSYNC_BUILD" DESTDIR="$d" \
	PREFIX=/usr FORCE=1 install >"$STORE_TMP/make.log" 2>&1
tap_result $? "make install FORCE=1 replaces the other program"
tap_ok "with this one" grep -q 'Synchronize two IMAP servers' \
	"$d/usr/bin/imapsync"
make -s -C "$IMAPSYNC_TOP" BUILD="$IMAPSYNC_BUILD" DESTDIR="$d" \
	PREFIX=/usr uninstall >"$STORE_TMP/make.log" 2>&1
tap_result $? "make uninstall succeeds"
tap_is "$(find "$d" -type f | wc -l)" 0 "and leaves no file"

# Building: the helper skipped without dovecot-dev, and said so; a missing
# library named by pkg-config before anything is compiled.
make -s -C "$IMAPSYNC_TOP" BUILD="$IMAPSYNC_BUILD" \
	DOVECOT_CONFIG=/nonexistent all >"$STORE_TMP/make.log" 2>&1
tap_result $? "make without dovecot-dev builds the client"
tap_ok "and says the helper is skipped, and why" \
	grep -q 'imapsync-remote.*skipped.*dovecot-dev' "$STORE_TMP/make.log"
make -s -C "$IMAPSYNC_TOP" BUILD="$STORE_TMP/nolib" \
	PKGS="sqlite3 libimapsync-nosuch" all >"$STORE_TMP/make.log" 2>&1
tap_is $? 2 "make stops when a library is missing"
sed 's/^/# /' "$STORE_TMP/make.log"
tap_ok "with pkg-config's message naming it" \
	grep -q "Package.*libimapsync-nosuch.*not found" "$STORE_TMP/make.log"
tap_is "$(grep -c 'error:\|undefined reference' "$STORE_TMP/make.log")" 0 \
	"and no compiler or linker error"
tap_done
