#!/bin/bash
# Entrypoint of the locally built image localhost/dom360-postgres:15 (see .ci/podman/setup.sh).
#
# It mirrors what the official postgres image's docker-entrypoint.sh does for the variables
# testcontainers' PostgresContainer sets:
#   POSTGRES_USER      superuser created by initdb            (default: postgres)
#   POSTGRES_PASSWORD  its password (required unless POSTGRES_HOST_AUTH_METHOD=trust)
#   POSTGRES_DB        database created on first start        (default: $POSTGRES_USER)
# and also honours POSTGRES_INITDB_ARGS, POSTGRES_HOST_AUTH_METHOD, PGDATA and
# /docker-entrypoint-initdb.d/*.sh|*.sql, like the official image.
#
# Used as ENTRYPOINT with CMD ["postgres"]: extra arguments starting with "-" are passed to the
# server (e.g. command "-c fsync=off"); any other command is exec'ed as is.
set -Eeuo pipefail

PG_BIN=/usr/lib/postgresql/15/bin
export PATH="$PG_BIN:$PATH"
export PGDATA="${PGDATA:-/var/lib/postgresql/data}"
export LANG="${LANG:-C.UTF-8}"

log() { printf 'dom360-entrypoint: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

if [ "$#" -eq 0 ] || [ "${1:0:1}" = '-' ]; then
	set -- postgres "$@"
fi
if [ "$1" != postgres ]; then
	exec "$@"
fi
shift   # "$@" now holds extra server arguments

# As root: prepare the directories, then re-run this script as the postgres OS user.
if [ "$(id -u)" = 0 ]; then
	mkdir -p "$PGDATA" /var/run/postgresql
	find "$PGDATA" \! -user postgres -exec chown postgres:postgres '{}' +
	chmod 700 "$PGDATA"
	chown postgres:postgres /var/run/postgresql
	chmod 3777 /var/run/postgresql
	export HOME=/var/lib/postgresql
	exec setpriv --reuid=postgres --regid=postgres --init-groups "${BASH_SOURCE[0]}" postgres "$@"
fi

[ "$(id -un)" = postgres ] || log "warning: running as $(id -un), not postgres"

if [ ! -s "$PGDATA/PG_VERSION" ]; then
	POSTGRES_USER="${POSTGRES_USER:-postgres}"
	POSTGRES_DB="${POSTGRES_DB:-$POSTGRES_USER}"
	auth="${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}"
	if [ -z "${POSTGRES_PASSWORD:-}" ] && [ "$auth" != trust ]; then
		die "database is uninitialized and POSTGRES_PASSWORD is not set (set it, or POSTGRES_HOST_AUTH_METHOD=trust)"
	fi

	log "initializing $PGDATA for superuser '$POSTGRES_USER'"
	initdb_args=(--username="$POSTGRES_USER")
	pwfile=
	if [ -n "${POSTGRES_PASSWORD:-}" ]; then
		pwfile="$(mktemp)"
		trap 'rm -f "$pwfile"' EXIT
		printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile"
		initdb_args+=(--pwfile="$pwfile")
	fi
	# shellcheck disable=SC2086  # POSTGRES_INITDB_ARGS is word-split on purpose, like the official image
	initdb "${initdb_args[@]}" ${POSTGRES_INITDB_ARGS:-} >&2
	if [ -n "$pwfile" ]; then rm -f "$pwfile"; fi

	{
		echo
		echo "# added by dom360-entrypoint: remote connections need the password"
		echo "host all all 0.0.0.0/0 $auth"
		echo "host all all ::/0 $auth"
	} >>"$PGDATA/pg_hba.conf"

	# Temporary server on the unix socket only, to create the database and run init scripts.
	pg_ctl -D "$PGDATA" -w -o "-c listen_addresses=''" start >&2

	psql_base=(psql -v ON_ERROR_STOP=1 --no-password --no-psqlrc --username "$POSTGRES_USER")
	exists="$("${psql_base[@]}" --dbname postgres --set db="$POSTGRES_DB" --tuples-only --no-align <<-'EOSQL'
		SELECT 1 FROM pg_database WHERE datname = :'db';
	EOSQL
	)"
	if [ -z "$exists" ]; then
		log "creating database '$POSTGRES_DB'"
		"${psql_base[@]}" --dbname postgres --set db="$POSTGRES_DB" >&2 <<-'EOSQL'
			CREATE DATABASE :"db";
		EOSQL
	fi

	if [ -d /docker-entrypoint-initdb.d ]; then
		for f in /docker-entrypoint-initdb.d/*; do
			case "$f" in
				*.sh)  log "running $f"; if [ -x "$f" ]; then "$f"; else . "$f"; fi ;;
				*.sql) log "running $f"; "${psql_base[@]}" --dbname "$POSTGRES_DB" -f "$f" >&2 ;;
				*)     if [ -e "$f" ]; then log "ignoring $f"; fi ;;
			esac
		done
	fi

	pg_ctl -D "$PGDATA" -w -m fast stop >&2
	log "initialization complete"
fi

log "starting PostgreSQL"
exec postgres -c "listen_addresses=*" "$@"
