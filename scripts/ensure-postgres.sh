#!/usr/bin/env bash
# Make sure the PostgreSQL the tests use is up (127.0.0.1:5432, trust auth).
# Starts the local cluster when it is installed but stopped; installs it from Debian's packages
# when it is missing and we are root. Exits non-zero with a clear message otherwise.
set -euo pipefail

ready() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }

command -v pg_isready >/dev/null 2>&1 && ready && exit 0

if ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "PostgreSQL is not installed: installing it from Debian's packages" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
    version=$(ls /etc/postgresql | head -n1)
    sed -i -E 's/^(local|host)(\s+all\s+all\s+.*)(peer|scram-sha-256|md5)$/\1\2trust/' \
      "/etc/postgresql/$version/main/pg_hba.conf"
  else
    echo "PostgreSQL is needed for the tests: install it, or set LOCKSTITCH_TEST_POSTGRES" >&2
    exit 1
  fi
fi

version=$(ls /etc/postgresql | head -n1)
echo "starting PostgreSQL $version" >&2
pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
for _ in $(seq 1 60); do
  ready && exit 0
  sleep 0.5
done
echo "PostgreSQL did not become ready on 127.0.0.1:5432" >&2
exit 1
