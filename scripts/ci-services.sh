#!/usr/bin/env bash
# Makes sure the services the tests need exist and run: redis-server on PATH (the tests start their own on a
# free port) and a PostgreSQL answering on 127.0.0.1:5432 (the tests create a throwaway database on it).
# Starts them where installed; installs them from Debian's packages where not (needs root, as on CI).
# Prints the TEST_POSTGRES_URL to use on stdout's last line.
set -euo pipefail

log() { echo "[services] $*" >&2; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
apt_updated=""
apt_install() {
  if [ -z "$apt_updated" ]; then as_root apt-get update -qq >&2; apt_updated=1; fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >&2
}
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

if ! command -v redis-server >/dev/null 2>&1; then
  log "redis-server missing: installing it"
  apt_install redis-server
fi
log "redis: $(redis-server --version | cut -d' ' -f3)"

pg_url="${TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
if [ -z "${TEST_POSTGRES_URL:-}" ] && ! port_open 5432; then
  if ! command -v pg_ctlcluster >/dev/null 2>&1 || [ -z "$(ls /etc/postgresql 2>/dev/null)" ]; then
    log "PostgreSQL missing: installing it"
    apt_install postgresql
  fi
  version=$(ls /etc/postgresql | sort -n | tail -1)
  log "starting PostgreSQL $version"
  as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  for _ in $(seq 1 60); do port_open 5432 && break; sleep 0.5; done
  port_open 5432 || { log "PostgreSQL did not start"; exit 1; }
  # A fresh Debian cluster asks TCP clients for a password: give the postgres role a local-only one.
  if ! psql -h 127.0.0.1 -U postgres -d postgres -c 'select 1' >/dev/null 2>&1; then
    as_root su postgres -c "psql -q -c \"ALTER USER postgres PASSWORD 'postgres'\"" >&2
    pg_url="postgres://postgres:postgres@127.0.0.1:5432/postgres"
  fi
fi
log "postgres: answering on 127.0.0.1:5432"
echo "$pg_url"
