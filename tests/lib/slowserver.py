#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""slowserver.py MODE COMMAND...: run COMMAND (a real IMAP tunnel) and
relay its session, slowed down the way a hostile or broken server can:

  greeting   everything, the greeting first, one byte a second
  answer     once the client has sent a SELECT or EXAMINE, the
             rest one byte a second
  silent     once the client has sent a SELECT or EXAMINE,
             nothing more, for an hour
"""
import os
import sys
import time

from imaprelay import relay


def main():
    mode = sys.argv[1]
    st = {'armed': mode == 'greeting'}

    def from_client(data):
        if b' SELECT ' in data.upper() or b' EXAMINE ' in data.upper():
            st['armed'] = True

    def from_server(data):
        if not st['armed']:
            return data
        if mode == 'silent':
            time.sleep(3600)
            return None
        for i in range(len(data)):
            os.write(1, data[i:i + 1])
            time.sleep(1)
        return b''

    return relay(sys.argv[2:], from_server, from_client)


if __name__ == '__main__':
    sys.exit(main())
