#!/usr/bin/env bash
# System packages the real-component tests need; installed with apt-get when root and missing.
set -u
need=()
command -v dovecot >/dev/null 2>&1 || need+=(dovecot-imapd)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
# SpamAssassin's spamd for the intake tests (Debian splits spamd out of spamassassin).
{ command -v spamd >/dev/null 2>&1 || [ -x /usr/sbin/spamd ]; } || need+=(spamassassin spamd spamc)
# The ticket protocol: WeasyPrint needs Pango; the PDF embeds DejaVu; its test reads it with pdftotext.
[ -e /usr/lib/x86_64-linux-gnu/libpangoft2-1.0.so.0 ] || ldconfig -p 2>/dev/null | grep -q libpangoft2-1.0 || need+=(libpango-1.0-0 libpangoft2-1.0-0)
[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || need+=(fonts-dejavu-core)
command -v pdftotext >/dev/null 2>&1 || need+=(poppler-utils)
if ! command -v initdb >/dev/null 2>&1 && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  need+=(postgresql)
fi
if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" != "0" ]; then
  echo "system-deps: missing ${need[*]}; not root, so the tests that need them will be skipped" >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
echo "system-deps: installing ${need[*]}" >&2
apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null 2>&1 || {
  apt-get update -q >/dev/null 2>&1
  apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null || echo "system-deps: install failed" >&2
}
# Debian starts dovecot as a service on install; the tests run their own instances.
if command -v systemctl >/dev/null 2>&1; then systemctl stop dovecot >/dev/null 2>&1 || true; fi
# Likewise spamd: the tests start their own on a free port.
if command -v systemctl >/dev/null 2>&1; then systemctl stop spamd >/dev/null 2>&1 || true; fi
exit 0
