#!/usr/bin/env bash
# A Go Forward cluster as plain processes on loopback: a PostgreSQL primary and a streaming
# replica (pg_basebackup), Redis, an S3-compatible server (gofakes3, installed by
# `scripts/deps.sh test`), three `goforward serve` nodes and a load balancer in front of them.
# deploy/cluster/compose.yml is the same thing in containers; tests/e2e/cluster_test.go uses
# this script.
#
#   deploy/cluster/cluster.sh up DIR        start everything (state, logs and secrets in DIR)
#   deploy/cluster/cluster.sh node DIR N    start node N (1-3) again after it was stopped
#   deploy/cluster/cluster.sh redis DIR     start Redis again after it was stopped
#   deploy/cluster/cluster.sh down DIR      stop everything (DIR is kept)
#
# Ports (loopback only) come from the environment: CLUSTER_LB_PORT (8080), CLUSTER_NODE_PORTS
# ("8081 8082 8083"), CLUSTER_PG_PORT (5440), CLUSTER_REPLICA_PORT (5441), CLUSTER_REDIS_PORT
# (6380), CLUSTER_S3_PORT (9100). GOFORWARD_BIN names a built goforward (default: build one
# into DIR/bin). CLUSTER_PG_FSYNC=off trades crash safety of the host for speed in tests.
# `up` prints the addresses and writes them, with the secrets, to DIR/cluster.env (0600).
# Each process's pid is in DIR/run/NAME.pid and its output in DIR/logs/NAME.log.
set -euo pipefail

cmd="${1:-}"
dir="${2:-}"
if [ -z "$cmd" ] || [ -z "$dir" ]; then
	sed -n '2,20p' "$0" >&2
	exit 2
fi
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
mkdir -p "$dir"
dir="$(cd "$dir" && pwd)"

lb_port="${CLUSTER_LB_PORT:-8080}"
read -r -a node_ports <<<"${CLUSTER_NODE_PORTS:-8081 8082 8083}"
pg_port="${CLUSTER_PG_PORT:-5440}"
replica_port="${CLUSTER_REPLICA_PORT:-5441}"
redis_port="${CLUSTER_REDIS_PORT:-6380}"
s3_port="${CLUSTER_S3_PORT:-9100}"

pgbin() {
	local d
	d="$(compgen -G '/usr/lib/postgresql/*/bin' | sort -V | tail -1 || true)"
	if [ -n "$d" ]; then echo "$d"; else dirname "$(command -v initdb)"; fi
}

# as_postgres runs a PostgreSQL program as the postgres user when this script runs as root
# (PostgreSQL refuses to run as root).
as_postgres() {
	if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

secret() { head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n'; }

# ready GETs http://127.0.0.1:PORT/PATH with bash alone (no curl on a bare machine) and
# succeeds on a 200.
ready() {
	local status
	status="$( (exec 3<>"/dev/tcp/127.0.0.1/$1" && printf 'GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' "$2" >&3 && head -1 <&3) 2>/dev/null || true)"
	[[ "$status" == *" 200 "* ]]
}

wait_for() { # what seconds command...
	local what="$1" tries=$(($2 * 10))
	shift 2
	until "$@"; do
		tries=$((tries - 1))
		if [ "$tries" -le 0 ]; then
			echo "cluster: $what did not come up; see $dir/logs" >&2
			exit 1
		fi
		sleep 0.1
	done
}

# spawn NAME PROGRAM ARGS... runs a program in the background, detached from this script.
spawn() {
	local name="$1"
	shift
	setsid "$@" >"$dir/logs/$name.log" 2>&1 </dev/null &
	echo $! >"$dir/run/$name.pid"
}

start_redis() {
	spawn redis redis-server --bind 127.0.0.1 --port "$redis_port" --save '' --appendonly no
	wait_for Redis 10 bash -c "exec 3<>/dev/tcp/127.0.0.1/$redis_port" 2>/dev/null
}

start_node() {
	local n="$1" port="${node_ports[$(($1 - 1))]}"
	set -a
	# shellcheck disable=SC1091
	. "$dir/node.env"
	set +a
	spawn "node$n" "$goforward" serve --data-dir "$dir/node$n" --port "$port"
}

wait_node() { wait_for "node $1" 120 ready "${node_ports[$(($1 - 1))]}" /ready; }

up() {
	mkdir -p "$dir/run" "$dir/logs" "$dir/bin"
	if [ "$(id -u)" -eq 0 ]; then chmod 0755 "$dir" "$dir/run" "$dir/logs"; fi
	local bin
	bin="$(pgbin)"
	goforward="${GOFORWARD_BIN:-}"
	if [ -z "$goforward" ]; then
		(cd "$root" && go build -o "$dir/bin/goforward" ./cmd/goforward)
		goforward="$dir/bin/goforward"
	fi
	(cd "$root" && go build -o "$dir/bin/lb" ./deploy/cluster/lb)
	local fakes3
	fakes3="$(command -v gofakes3 || echo "$(go env GOPATH)/bin/gofakes3")"
	[ -x "$fakes3" ] || {
		echo "cluster: gofakes3 is missing; run scripts/deps.sh test" >&2
		exit 1
	}

	local pg_password auth_password jwt_secret s3_secret
	pg_password="$(secret)" auth_password="$(secret)" jwt_secret="$(secret)$(secret)" s3_secret="$(secret)"

	# The primary: logical WAL for realtime, WAL senders for the replica.
	local pwfile="$dir/run/pgpass"
	printf '%s\n' "$pg_password" >"$pwfile"
	mkdir -p "$dir/primary" "$dir/replica" "$dir/pgsock"
	if [ "$(id -u)" -eq 0 ]; then chown postgres "$pwfile" "$dir/primary" "$dir/replica" "$dir/pgsock" "$dir/logs"; fi
	chmod 0700 "$dir/primary" "$dir/replica"
	as_postgres "$bin/initdb" -D "$dir/primary" -U postgres --auth=scram-sha-256 --pwfile="$pwfile" -E UTF8 --locale=C.UTF-8 >"$dir/logs/initdb.log"
	rm -f "$pwfile"
	cat >>"$dir/primary/postgresql.conf" <<-CONF
		listen_addresses = '127.0.0.1'
		unix_socket_directories = '$dir/pgsock'
		wal_level = logical
		max_wal_senders = 10
		max_replication_slots = 10
		hot_standby = on
		max_connections = 200
		fsync = ${CLUSTER_PG_FSYNC:-on}
	CONF
	as_postgres "$bin/pg_ctl" -D "$dir/primary" -l "$dir/logs/primary.log" -o "-p $pg_port" -w start >/dev/null
	as_postgres head -1 "$dir/primary/postmaster.pid" >"$dir/run/primary.pid"

	# The replica: a base backup that follows the primary's WAL (-R writes primary_conninfo).
	as_postgres env PGPASSWORD="$pg_password" "$bin/pg_basebackup" -h 127.0.0.1 -p "$pg_port" -U postgres \
		-D "$dir/replica" -R -X stream -c fast
	as_postgres "$bin/pg_ctl" -D "$dir/replica" -l "$dir/logs/replica.log" -o "-p $replica_port" -w start >/dev/null
	as_postgres head -1 "$dir/replica/postmaster.pid" >"$dir/run/replica.pid"

	start_redis
	mkdir -p "$dir/s3"
	spawn s3 "$fakes3" -host "127.0.0.1:$s3_port" -backend bolt -bolt.db "$dir/s3/objects.db" -initialbucket goforward -quiet
	wait_for "the S3 server" 10 bash -c "exec 3<>/dev/tcp/127.0.0.1/$s3_port" 2>/dev/null

	local primary_url="postgres://postgres:$pg_password@127.0.0.1:$pg_port/postgres?sslmode=disable"
	local replica_url="postgres://postgres:$pg_password@127.0.0.1:$replica_port/postgres?sslmode=disable"
	umask 077
	cat >"$dir/node.env" <<-ENV
		DATABASE_URL=$primary_url
		GOFORWARD_DATABASE_READ_REPLICAS=$replica_url
		GOFORWARD_DATABASE_AUTHENTICATOR_PASSWORD=$auth_password
		REDIS_URL=redis://127.0.0.1:$redis_port/0
		JWT_SECRET=$jwt_secret
		GOFORWARD_SERVER_PUBLIC_URL=http://127.0.0.1:$lb_port
		GOFORWARD_SERVER_TRUSTED_PROXIES=127.0.0.1/32
		GOFORWARD_STORAGE_BACKEND=s3
		GOFORWARD_STORAGE_S3_ENDPOINT=http://127.0.0.1:$s3_port
		GOFORWARD_STORAGE_S3_REGION=us-east-1
		GOFORWARD_STORAGE_S3_BUCKET=goforward
		GOFORWARD_STORAGE_S3_ACCESS_KEY=goforward
		GOFORWARD_STORAGE_S3_SECRET_KEY=$s3_secret
		GOFORWARD_STORAGE_S3_USE_PATH_STYLE=true
	ENV
	if [ -n "${CLUSTER_NODE_ENV:-}" ]; then printf '%s\n' "$CLUSTER_NODE_ENV" >>"$dir/node.env"; fi
	umask 022
	printf 'GOFORWARD=%s\n' "$goforward" >"$dir/run/goforward"

	# The first node applies the internal migrations alone; the others then find them done.
	start_node 1
	wait_node 1
	start_node 2
	start_node 3
	wait_node 2
	wait_node 3

	local urls=()
	for p in "${node_ports[@]}"; do urls+=("http://127.0.0.1:$p"); done
	spawn lb "$dir/bin/lb" -listen "127.0.0.1:$lb_port" "${urls[@]}"
	wait_for "the load balancer" 10 ready "$lb_port" /ready

	umask 077
	cat >"$dir/cluster.env" <<-ENV
		LB_URL=http://127.0.0.1:$lb_port
		NODE_URLS="${urls[*]}"
		PRIMARY_URL=$primary_url
		REPLICA_URL=$replica_url
		REDIS_URL=redis://127.0.0.1:$redis_port/0
		S3_ENDPOINT=http://127.0.0.1:$s3_port
	ENV
	umask 022
	echo "Go Forward cluster up: http://127.0.0.1:$lb_port (nodes ${urls[*]}); details in $dir/cluster.env"
}

# stop NAME: SIGTERM, then SIGKILL after 30 s.
stop() {
	local f="$dir/run/$1.pid" pid
	[ -f "$f" ] || return 0
	pid="$(cat "$f")"
	if kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid" 2>/dev/null || true
		for _ in $(seq 300); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null || true
	fi
	rm -f "$f"
}

down() {
	stop lb
	stop node1 &
	stop node2 &
	stop node3 &
	wait
	stop s3
	stop redis
	local bin
	bin="$(pgbin)"
	for pg in replica primary; do
		if [ -f "$dir/$pg/postmaster.pid" ]; then
			as_postgres "$bin/pg_ctl" -D "$dir/$pg" -m fast -w stop >/dev/null 2>&1 || true
		fi
		rm -f "$dir/run/$pg.pid"
	done
}

case "$cmd" in
up) up ;;
down) down ;;
node)
	n="${3:?node number}"
	# shellcheck disable=SC1091
	. "$dir/run/goforward"
	goforward="$GOFORWARD"
	start_node "$n"
	wait_node "$n"
	;;
redis) start_redis ;;
*)
	echo "unknown command $cmd (up, node, redis, down)" >&2
	exit 2
	;;
esac
