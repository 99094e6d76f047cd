#!/bin/bash
# Prepare a machine without a Docker engine to run the testcontainers backend of the test suite,
# with podman serving the Docker API. For CI on a clean Debian 12 machine, as root.
#
#   eval "$(bash .ci/podman/setup.sh)"
#
# Note that `eval "$(...)"` succeeds even when the script fails (it then prints nothing on
# stdout); in CI prefer
#
#   dom360_env="$(bash .ci/podman/setup.sh)" && eval "$dom360_env"
#
# Idempotent and safe to run many times (concurrent runs are serialised with a lock):
#   1. installs podman, runc and debootstrap with apt-get if one of them is missing;
#   2. builds the image localhost/dom360-postgres:15 (PostgreSQL 15 + contrib from Debian
#      bookworm, with .ci/podman/entrypoint.sh) only if `podman image exists` says it is missing;
#   3. starts `podman system service` on unix:///run/dom360-podman.sock in the background if
#      nothing answers there, and waits until it answers.
# Progress goes to stderr; stdout carries only the `export` lines to eval.
#
# Knobs (environment):
#   DOM360_REBUILD_IMAGE=1   remove and rebuild the image even if it exists
#   DOM360_DEBIAN_MIRROR     mirror for debootstrap (default http://deb.debian.org/debian)
#
# Why each setting is needed: see the comments in .ci/podman/containers.conf and below.
set -Eeuo pipefail

IMAGE=localhost/dom360-postgres:15
SOCK=/run/dom360-podman.sock
DOCKER_HOST_URL="unix://$SOCK"
SERVICE_LOG=/var/log/dom360-podman-service.log
SERVICE_PID=/run/dom360-podman-service.pid
LOCK=/run/dom360-podman-setup.lock
SUITE=bookworm
MIRROR="${DOM360_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
PACKAGES=(podman runc debootstrap)

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
CONF="$HERE/containers.conf"
ENTRYPOINT_SRC="$HERE/entrypoint.sh"

log() { printf 'dom360 podman setup: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
trap 'rc=$?; log "ERROR: failed (exit $rc) at line $LINENO: $BASH_COMMAND"; exit $rc' ERR

[ "$(id -u)" = 0 ] || die "must run as root (it installs packages and starts a root podman service)"
[ -r "$CONF" ] || die "missing $CONF"
[ -r "$ENTRYPOINT_SRC" ] || die "missing $ENTRYPOINT_SRC"

# Every podman invocation (the service included) must see the project's containers.conf.
export CONTAINERS_CONF="$CONF"

exec 9>"$LOCK"
if ! flock -n 9; then
	log "another setup run holds $LOCK, waiting for it"
	flock 9
fi

# --- 1. packages ---------------------------------------------------------------------------
missing=()
for p in "${PACKAGES[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing+=("$p")
	fi
done
if [ "${#missing[@]}" -gt 0 ]; then
	command -v apt-get >/dev/null || die "apt-get not found; install ${missing[*]} by hand"
	log "installing ${missing[*]} with apt-get"
	t0=$SECONDS
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q >&2 || die "apt-get update failed"
	apt-get install -y -q "${missing[@]}" >&2 || die "apt-get install ${missing[*]} failed"
	log "packages installed in $((SECONDS - t0)) s"
else
	log "podman, runc and debootstrap already installed"
fi
command -v podman >/dev/null || die "podman is not on PATH after installation"

# --- 2. image --------------------------------------------------------------------------------
# The label records what the image was built from, to warn when entrypoint.sh changed since.
recipe_hash="$( { printf '%s\n' "$SUITE" postgresql-15 postgresql-contrib v1; cat "$ENTRYPOINT_SRC"; } | sha256sum | cut -c1-16)"

if [ "${DOM360_REBUILD_IMAGE:-0}" = 1 ] && podman image exists "$IMAGE"; then
	log "DOM360_REBUILD_IMAGE=1: removing $IMAGE"
	podman rmi -f "$IMAGE" >&2
fi

build_root=
cleanup_build() {
	if [ -n "$build_root" ] && [ -d "$build_root" ]; then
		# debootstrap may leave these mounted when it fails half-way
		for m in proc sys dev/pts dev; do
			if mountpoint -q "$build_root/rootfs/$m" 2>/dev/null; then umount -l "$build_root/rootfs/$m" || true; fi
		done
		rm -rf --one-file-system "$build_root"
	fi
}
trap cleanup_build EXIT

if podman image exists "$IMAGE"; then
	have_hash="$(podman image inspect --format '{{ index .Labels "org.dom360.recipe" }}' "$IMAGE" 2>/dev/null || true)"
	if [ "$have_hash" != "$recipe_hash" ]; then
		log "WARNING: $IMAGE was built from another recipe/entrypoint ($have_hash, now $recipe_hash);"
		log "WARNING: rerun with DOM360_REBUILD_IMAGE=1 to rebuild it"
	fi
	log "image $IMAGE exists, not rebuilding"
else
	log "building $IMAGE with debootstrap ($SUITE from $MIRROR; takes about a minute)"
	t0=$SECONDS
	build_root="$(mktemp -d /var/tmp/dom360-postgres-image.XXXXXX)"
	rootfs="$build_root/rootfs"
	debootstrap --variant=minbase --include=postgresql-15,postgresql-contrib \
		"$SUITE" "$rootfs" "$MIRROR" >&2 || die "debootstrap failed (see the messages above)"
	t1=$SECONDS
	log "debootstrap done in $((t1 - t0)) s"

	# The package's own cluster (created by postgresql-common) is not used: the entrypoint
	# initialises its own in $PGDATA. Drop it and the package caches to keep the image small.
	rm -rf "$rootfs/etc/postgresql/15/main" "$rootfs/var/lib/postgresql/15/main"
	rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
	install -m 0755 "$ENTRYPOINT_SRC" "$rootfs/usr/local/bin/docker-entrypoint.sh"
	mkdir -p "$rootfs/docker-entrypoint-initdb.d"
	[ -x "$rootfs/usr/lib/postgresql/15/bin/postgres" ] || die "postgres binary missing from the rootfs"
	[ -e "$rootfs/usr/share/postgresql/15/extension/pgcrypto.control" ] || die "pgcrypto missing from the rootfs"

	tar -C "$rootfs" --numeric-owner -cf "$build_root/rootfs.tar" . || die "tar of the rootfs failed"
	podman import \
		--change 'ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]' \
		--change 'CMD ["postgres"]' \
		--change 'EXPOSE 5432' \
		--change 'STOPSIGNAL SIGINT' \
		--change 'ENV PATH=/usr/lib/postgresql/15/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
		--change 'ENV PGDATA=/var/lib/postgresql/data' \
		--change 'ENV LANG=C.UTF-8' \
		--change "LABEL org.dom360.recipe=$recipe_hash" \
		--message "dom360db test image: PostgreSQL 15 from Debian $SUITE" \
		"$build_root/rootfs.tar" "$IMAGE" >&2 || die "podman import failed"
	log "podman import done in $((SECONDS - t1)) s"
	cleanup_build
	build_root=
	log "image $IMAGE built in $((SECONDS - t0)) s"
fi

# --- 3. Docker API service -------------------------------------------------------------------
api_answers() {
	if command -v curl >/dev/null; then
		[ "$(curl -sS --max-time 3 --unix-socket "$SOCK" http://d/_ping 2>/dev/null)" = OK ]
	else
		timeout 10 podman --url "$DOCKER_HOST_URL" info >/dev/null 2>&1
	fi
}

if api_answers; then
	log "podman API already answers at $DOCKER_HOST_URL"
else
	if [ -e "$SOCK" ]; then
		log "removing stale socket $SOCK (nothing answers on it)"
		rm -f "$SOCK"
	fi
	log "starting podman system service on $DOCKER_HOST_URL (log: $SERVICE_LOG)"
	# Detached from this script: own session, no inherited stdout (or `$(...)` would never end),
	# and without the lock's fd 9 (or the lock would be held for as long as the service runs).
	setsid podman system service --time=0 "$DOCKER_HOST_URL" \
		</dev/null >>"$SERVICE_LOG" 2>&1 9>&- &
	pid=$!
	echo "$pid" >"$SERVICE_PID"
	for _ in $(seq 1 100); do
		if api_answers; then break; fi
		if ! kill -0 "$pid" 2>/dev/null; then
			tail -n 20 "$SERVICE_LOG" >&2 || true
			die "podman system service exited early (see $SERVICE_LOG)"
		fi
		sleep 0.2
	done
	api_answers || die "podman system service (pid $pid) does not answer at $DOCKER_HOST_URL after 20 s (see $SERVICE_LOG)"
	log "podman API answers at $DOCKER_HOST_URL (pid $pid)"
fi

runtime="$(timeout 15 podman --url "$DOCKER_HOST_URL" info --format '{{.Host.OCIRuntime.Name}}' 2>/dev/null || true)"
if [ -n "$runtime" ] && [ "$runtime" != runc ]; then
	log "WARNING: the service at $DOCKER_HOST_URL uses runtime '$runtime', not runc: it was started"
	log "WARNING: without CONTAINERS_CONF=$CONF; stop it (pid in $SERVICE_PID) and rerun this script"
fi

# --- output ----------------------------------------------------------------------------------
printf 'export %s=%q\n' \
	DOCKER_HOST "$DOCKER_HOST_URL" \
	CONTAINERS_CONF "$CONF" \
	TESTCONTAINERS_RYUK_DISABLED true \
	TESTCONTAINERS_CONNECTION_MODE docker_host \
	TC_HOST 127.0.0.1 \
	DOM360_TEST_IMAGE "$IMAGE"
log "ready"
