# SPDX-License-Identifier: GPL-3.0-or-later
# sshd-user.sh: sourced by sshd.sh and by check.sh (POSIX sh).
#
#   sshd_user_create   as root, the system user imapsync-test the SSH
#       tests' remote stores run as, created if missing. Tests running side
#       by side may call it at the same time: a useradd or usermod that
#       fails (user added meanwhile, /etc/passwd locked) is tried again.
#
# A real shell: sshd runs the forced command through it; a password field
# of '*' rather than '!': without PAM, sshd refuses locked accounts even
# for keys.

SSHD_TEST_USER=imapsync-test

sshd_user_create() {
	_u=$SSHD_TEST_USER
	_try=0
	while :; do
		if getent passwd "$_u" >/dev/null &&
			[ "$(getent shadow "$_u" | cut -d: -f2)" = '*' ]; then
			break
		fi
		[ $_try -ge 20 ] && return 1
		if ! getent passwd "$_u" >/dev/null; then
			useradd --system --user-group --create-home \
				--home-dir "/var/lib/$_u" --shell /bin/sh \
				--password '*' --comment "imapsync tests and demo" \
				"$_u" 2>/dev/null
		else
			usermod --password '*' "$_u" 2>/dev/null
		fi || sleep 0.5
		_try=$((_try + 1))
	done
	# sshd's privilege separation directory (absent until the system
	# sshd has run once).
	mkdir -p /run/sshd && chmod 755 /run/sshd
}
