#!/usr/bin/env bash
# Installs Debian's PostgreSQL server binaries when the machine has none (Belfry runs its own private
# cluster from them; it never uses a system-wide cluster).
set -euo pipefail
if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1; then
  exit 0
fi
echo "PostgreSQL binaries not found: installing them with apt-get" >&2
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql >/dev/null
# Debian starts a system cluster on install; Belfry does not need it.
$SUDO service postgresql stop >/dev/null 2>&1 || true
