#!/usr/bin/env bash
# Installs the real servers the end-to-end tests talk to (runs before `npm test`):
# dnsmasq (DNS), Dovecot (IMAP, POP3, submission), Chromium (browser) and openssl (test CAs).
# Does nothing when they are already there; needs root (apt-get) otherwise.
set -euo pipefail

missing=0
for bin in /usr/sbin/dnsmasq /usr/sbin/dovecot /usr/lib/dovecot/imap-login /usr/lib/dovecot/pop3-login \
  /usr/lib/dovecot/submission-login /usr/bin/chromium /usr/bin/openssl; do
  [ -x "$bin" ] || missing=1
done
if [ "$missing" = 1 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "install-test-deps: the end-to-end tests need dnsmasq-base, dovecot-*, chromium and openssl;" >&2
    echo "run as root, or: sudo apt-get install dnsmasq-base dovecot-core dovecot-imapd dovecot-pop3d dovecot-submissiond chromium openssl" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends \
    dnsmasq-base dovecot-core dovecot-imapd dovecot-pop3d dovecot-submissiond chromium openssl ca-certificates
fi
# Debian's dovecot package starts a system instance on *:143/993/110/995; the tests run their own on
# loopback addresses with those ports, so the system one must not hold them.
if [ "$(id -u)" = 0 ] && pgrep -x dovecot >/dev/null 2>&1; then
  (service dovecot stop >/dev/null 2>&1 || true)
fi
exit 0
