#!/usr/bin/env bash
# Word count from a Redis stream into a PostgreSQL table (examples/redis_to_postgres.cpp), end to
# end on this machine: starts redis-server and PostgreSQL in a temporary directory on free
# loopback ports (PostgreSQL as nobody when run as root: it refuses to run as root), creates the
# table, fills the stream with SENTENCES sentences (default 20000), runs the topology in local mode
# until every entry is processed and acknowledged (at most TIMEOUT seconds, default 120), prints
# the most frequent words from the table, and stops and removes everything it started, also when
# a step fails or it is interrupted.
set -euo pipefail
cd "$(dirname "$0")/.."

fail() {
  echo "redis-to-postgres: $*" >&2
  exit 1
}

sentences=${SENTENCES:-20000}
timeout=${TIMEOUT:-120}
stream=sentences
table=word_counts

./scripts/setup-deps.sh
if [[ ! -f build/build.ninja ]]; then
  meson setup build
fi
# A build dir configured before hiredis or libpq was installed lacks the connectors: reconfigure.
if ! ninja -C build -t targets all | grep -q '^examples/redis_to_postgres.so:'; then
  meson setup --reconfigure build
fi
ninja -C build cli/gale examples/redis_to_postgres.so

# The newest installed PostgreSQL's programs (Debian: /usr/lib/postgresql/N/bin).
pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
[[ -x "$pg_bin/postgres" ]] || fail "no PostgreSQL under /usr/lib/postgresql"

work=$(mktemp -d /tmp/gale-redis-to-postgres-XXXXXX)
chmod 711 "$work"  # PostgreSQL's user must reach its directory inside
pids=()

# Stops what this script started (by pid), the last started first so that the servers outlive
# their clients, and removes the directory, however the script ends. Each gets SIGTERM and 5 s
# (gale local drains; PostgreSQL shuts down once its clients are gone), then SIGKILL.
cleanup() {
  local i pid
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    pid=${pids[i]}
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A loopback port nobody answers on now (another process may still take it first: the servers'
# own start then fails, and so does this script, with their logs).
free_port() {
  local port
  while true; do
    port=$((20000 + RANDOM % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "$port"
      return
    fi
  done
}

# What runs PostgreSQL's programs as nobody when root. A prefix rather than a function, so that
# the server started in the background is the process whose pid $! gives (setpriv execs it).
as_postgres_user=()
if [[ $(id -u) -eq 0 ]]; then
  as_postgres_user=(setpriv --reuid=65534 --regid=65534 --clear-groups --)
fi

# Polls the command "$@" every 100 ms until it succeeds or `$1` seconds pass.
wait_for() {
  local seconds=$1
  shift
  local deadline=$((SECONDS + seconds))
  until "$@"; do
    ((SECONDS < deadline)) || return 1
    sleep 0.1
  done
}

redis_port=$(free_port)
mkdir "$work/redis"
redis-server --port "$redis_port" --bind 127.0.0.1 --dir "$work/redis" --save "" \
  --appendonly no --daemonize no --logfile "$work/redis/redis.log" &
pids+=($!)
redis() { redis-cli -h 127.0.0.1 -p "$redis_port" "$@"; }
redis_ready() { [[ $(redis ping 2>/dev/null) == PONG ]]; }
wait_for 10 redis_ready || fail "redis-server did not start: $(tail -n 5 "$work/redis/redis.log")"

pg_port=$(free_port)
mkdir "$work/pg"
[[ $(id -u) -ne 0 ]] || chown 65534:65534 "$work/pg"
"${as_postgres_user[@]}" "$pg_bin/initdb" -D "$work/pg/data" -U gale --auth=trust -E UTF8 \
  --no-sync >"$work/initdb.log" 2>&1 || fail "initdb failed: $(tail -n 5 "$work/initdb.log")"
"${as_postgres_user[@]}" "$pg_bin/postgres" -D "$work/pg/data" -p "$pg_port" -k "$work/pg" \
  -c listen_addresses=127.0.0.1 >"$work/postgres.log" 2>&1 &
pids+=($!)
conninfo="host=127.0.0.1 port=$pg_port dbname=postgres user=gale"
wait_for 30 "$pg_bin/pg_isready" -q -d "$conninfo" ||
  fail "PostgreSQL did not start: $(tail -n 5 "$work/postgres.log")"
sql() { "$pg_bin/psql" -d "$conninfo" -v ON_ERROR_STOP=1 -q "$@"; }
sql -c "CREATE TABLE $table (word text PRIMARY KEY, count bigint NOT NULL)"

echo "redis-to-postgres: redis-server on 127.0.0.1:$redis_port, PostgreSQL on 127.0.0.1:$pg_port;" \
  "adding $sentences sentences to stream '$stream'"
# XADD in Redis's own protocol through redis-cli --pipe: one round trip for them all.
awk -v n="$sentences" -v stream="$stream" 'BEGIN {
  s[0] = "the cow jumped over the moon"; s[1] = "an apple a day keeps the doctor away"
  s[2] = "four score and seven years ago"; s[3] = "snow white and the seven dwarfs"
  s[4] = "i am at two with nature"
  for (i = 0; i < n; i++) {
    x = s[i % 5]
    printf "*5\r\n$4\r\nXADD\r\n$%d\r\n%s\r\n$1\r\n*\r\n$8\r\nsentence\r\n$%d\r\n%s\r\n",
           length(stream), stream, length(x), x
  }
}' | redis --pipe >"$work/pipe.log" || fail "filling the stream failed: $(cat "$work/pipe.log")"

build/cli/gale local build/examples/redis_to_postgres.so --duration $((timeout + 60)) \
  -c "redis.url=redis://127.0.0.1:$redis_port" -c "redis.stream=$stream" \
  -c "postgres.conninfo=$conninfo" -c "postgres.table=$table" &
gale_pid=$!
pids+=("$gale_pid")

# Every entry delivered to the group (lag 0) and acknowledged (pending 0): each sentence's counts
# are committed to the table, since an entry is acknowledged only after that.
consumed() {
  kill -0 "$gale_pid" 2>/dev/null || fail "gale local ended before the stream was consumed"
  redis XINFO GROUPS "$stream" 2>/dev/null | awk '
    prev == "pending" { pending = $0 } prev == "lag" { lag = $0 } { prev = $0 }
    END { exit !(pending == "0" && lag == "0") }' 2>/dev/null
}
wait_for "$timeout" consumed || fail "the stream was not consumed within $timeout s"

kill -TERM "$gale_pid"
wait "$gale_pid" || fail "gale local failed"
echo
echo "redis-to-postgres: every sentence counted; the most frequent words in table '$table':"
sql -c "SELECT word, count FROM $table ORDER BY count DESC, word LIMIT 10"
