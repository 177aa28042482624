#!/usr/bin/env bash
# Browser tests drive Debian's Chromium with Playwright (never a browser download of its own).
# Install it when missing and we can (root + apt-get); otherwise stop with what to install.
set -euo pipefail
if command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ]; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing Debian's chromium for the browser tests..."
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null
  exit 0
fi
echo "The browser tests need Chromium. Install Debian's package as root:  apt-get install chromium" >&2
echo "(or run 'make test' as root so it can install it). Browser tests are never skipped." >&2
exit 1
