#!/usr/bin/env bash
# Runs a command with a throw-away PostgreSQL server on 127.0.0.1.
#
#   scripts/postgres.sh go test -count=1 ./io/postgres/...
#
# It installs Debian's postgresql package if no server binaries are found
# (apt-get, with sudo when not root and sudo is there), initdb's a cluster in
# a temporary directory, starts it on a free port of 127.0.0.1 (as the
# postgres or nobody user when run as root: the server refuses root), runs
# the command with BEAMGO_POSTGRES_DSN set to the server's URL, then stops
# the server and removes the directory. The command's exit status is the
# script's.
set -euo pipefail

if [ $# -eq 0 ]; then
	echo "usage: $0 command [args...]" >&2
	exit 2
fi

# pgbin prints the directory of initdb and pg_ctl, or nothing.
pgbin() {
	local d
	if d=$(command -v initdb 2>/dev/null) && command -v pg_ctl >/dev/null 2>&1; then
		dirname "$(readlink -f "$d")"
		return
	fi
	for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
		if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then
			echo "$d"
			return
		fi
	done
}

install_postgres() {
	local sudo=""
	if [ "$(id -u)" -ne 0 ]; then
		if command -v sudo >/dev/null 2>&1; then
			sudo="sudo"
		else
			echo "postgres.sh: PostgreSQL is not installed and I am neither root nor have sudo: apt-get install postgresql" >&2
			exit 1
		fi
	fi
	echo "postgres.sh: installing postgresql with apt-get" >&2
	$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
	$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
}

bin=$(pgbin)
if [ -z "$bin" ]; then
	install_postgres
	bin=$(pgbin)
	if [ -z "$bin" ]; then
		echo "postgres.sh: no initdb/pg_ctl found after installing postgresql" >&2
		exit 1
	fi
fi

# as USER CMD... runs CMD as the server's user (ourselves unless root).
user=""
if [ "$(id -u)" -eq 0 ]; then
	if id postgres >/dev/null 2>&1; then user=postgres; else user=nobody; fi
fi
as() {
	if [ -n "$user" ]; then
		runuser -u "$user" -- "$@"
	else
		"$@"
	fi
}

# free_port prints a port of 127.0.0.1 that nothing listens on.
free_port() {
	local port
	for _ in $(seq 1 100); do
		port=$((20000 + RANDOM % 40000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			echo "$port"
			return
		fi
	done
	echo "postgres.sh: no free port found" >&2
	exit 1
}

dir=$(mktemp -d "${TMPDIR:-/tmp}/beamgo-pg.XXXXXX")
if [ -n "$user" ]; then chown "$user" "$dir"; fi
chmod 700 "$dir"
stop() {
	as "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
	rm -rf "$dir"
}
trap stop EXIT

as "$bin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --no-locale >"$dir/initdb.log" 2>&1 || {
	cat "$dir/initdb.log" >&2
	exit 1
}
# The port is free when picked but may be taken before the server binds it
# (seen once: "could not create any TCP/IP sockets"); then another is tried.
for attempt in 1 2 3 4 5; do
	port=$(free_port)
	if as "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
		-o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c max_connections=50" start >/dev/null; then
		break
	fi
	if [ "$attempt" -lt 5 ] && grep -q "could not create any TCP/IP sockets\|could not bind" "$dir/server.log"; then
		echo "postgres.sh: port $port was taken; trying another" >&2
		: >"$dir/server.log"
		continue
	fi
	cat "$dir/server.log" >&2
	exit 1
done

export BEAMGO_POSTGRES_DSN="postgres://postgres@127.0.0.1:$port/postgres?sslmode=disable"
echo "postgres.sh: PostgreSQL on 127.0.0.1:$port" >&2
set +e
"$@"
status=$?
set -e
exit $status
