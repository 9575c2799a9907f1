#!/usr/bin/env bash
# Installs the real servers the end-to-end tests talk to (runs before `npm test`):
# dnsmasq (DNS), Dovecot (IMAP, POP3, submission), Chromium (browser), openssl (test CAs) and
# redis-server (the shared state of several replicas).
# Does nothing when they are already there; needs root (apt-get) otherwise.
set -euo pipefail

missing=0
for bin in /usr/sbin/dnsmasq /usr/sbin/dovecot /usr/lib/dovecot/imap-login /usr/lib/dovecot/pop3-login \
  /usr/lib/dovecot/submission-login /usr/bin/chromium /usr/bin/openssl /usr/bin/redis-server; do
  [ -x "$bin" ] || missing=1
done
if [ "$missing" = 1 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "install-test-deps: the end-to-end tests need dnsmasq-base, dovecot-*, chromium, openssl and redis-server;" >&2
    echo "run as root, or: sudo apt-get install dnsmasq-base dovecot-core dovecot-imapd dovecot-pop3d dovecot-submissiond chromium openssl redis-server" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends \
    dnsmasq-base dovecot-core dovecot-imapd dovecot-pop3d dovecot-submissiond chromium openssl ca-certificates redis-server
fi
# Debian's dovecot package starts a system instance on *:143/993/110/995; the tests run their own on
# loopback addresses with those ports, so the system one must not hold them.
if [ "$(id -u)" = 0 ] && pgrep -x dovecot >/dev/null 2>&1; then
  (service dovecot stop >/dev/null 2>&1 || true)
fi
# Debian's redis-server package may start a system instance on 127.0.0.1:6379; the tests start their
# own on loopback addresses and ports of their own, so it is left alone.
exit 0
