#!/usr/bin/env bash
# System packages some pinned plugins compile against when pip builds them: thk-target-mysql
# (mysql_destination) depends on mysqlclient, which needs MariaDB's client headers and
# pkg-config. Installed from Debian's packages when missing and we are root; otherwise a clear
# message says what to install.
set -euo pipefail

command -v pkg-config >/dev/null 2>&1 && pkg-config --exists libmariadb && exit 0

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "installing libmariadb-dev and pkg-config (mysqlclient builds against them)" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libmariadb-dev pkg-config >/dev/null
  exit 0
fi
echo "the MySQL destination's target needs MariaDB client headers: install libmariadb-dev and pkg-config" >&2
exit 1
