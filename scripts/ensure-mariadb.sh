#!/usr/bin/env bash
# Make sure the MariaDB the tests use is up (127.0.0.1:3306, root with an empty password).
# Starts the installed server when it is stopped; installs it from Debian's packages when it is
# missing and we are root. Exits non-zero with a clear message otherwise.
set -euo pipefail

ready() { mariadb -h 127.0.0.1 -P 3306 -u root -e "SELECT 1" >/dev/null 2>&1; }

command -v mariadb >/dev/null 2>&1 && ready && exit 0

if ! command -v mariadbd >/dev/null 2>&1 && [ ! -x /usr/sbin/mariadbd ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "MariaDB is not installed: installing it from Debian's packages" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mariadb-server >/dev/null
  else
    echo "MariaDB is needed for the tests: install it (Debian: mariadb-server)" >&2
    exit 1
  fi
fi

echo "starting MariaDB" >&2
mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld 2>/dev/null || true
start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd -- --user=mysql >/dev/null 2>&1 || true
for _ in $(seq 1 60); do
  ready && exit 0
  sleep 0.5
done
echo "MariaDB did not become ready on 127.0.0.1:3306" >&2
exit 1
