#!/usr/bin/env bash
# Installs Debian's chromium when the machine has no Chromium or Chrome: the browser test of live
# meetings (cmd/belfry TestBrowsersSeeEachOther) drives it headless with fake camera and microphone.
# Without it that test skips.
set -euo pipefail
if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || command -v google-chrome >/dev/null 2>&1; then
  exit 0
fi
echo "Chromium not found: installing it with apt-get" >&2
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
# A machine that cannot install it still runs every other test: the browser test then skips, saying so.
if ! { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null; }; then
  echo "could not install chromium: the browser test (TestBrowsersSeeEachOther) will skip" >&2
fi
