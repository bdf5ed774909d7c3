#!/usr/bin/env bash
# System packages some pinned plugins compile against when pip builds them: thk-target-mysql
# (mysql_destination) depends on mysqlclient, which needs MariaDB's client headers and
# pkg-config; tap-workday-raas pins ijson 3.1.4, whose C backend (the one the tap imports) is
# built only when yajl's headers are there (otherwise ijson installs without it, silently).
# Installed from Debian's packages when missing and we are root; otherwise a clear message says
# what to install.
set -euo pipefail

missing=()
command -v pkg-config >/dev/null 2>&1 && pkg-config --exists libmariadb || missing+=(libmariadb-dev pkg-config)
[ -f /usr/include/yajl/yajl_version.h ] || missing+=(libyajl-dev)
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "installing ${missing[*]} (mysqlclient and ijson build against them)" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  exit 0
fi
echo "plugins build against system headers: install ${missing[*]}" >&2
exit 1
