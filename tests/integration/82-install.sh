#!/bin/sh
# 82-install.sh: `make install` puts the program, the server helper, the
# man page and the systemd user units where they belong; the units start
# the installed program in --notify mode and pass systemd-analyze verify.
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
tap_done
