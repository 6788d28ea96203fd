#!/usr/bin/env bash
# Countersign's MySQL listener vs direct on the same MariaDB: sysbench oltp_point_select and
# oltp_read_only at 1/8/32 threads, rounds interleaved, medians, the proxy's CPU per transaction,
# then large results (1,000,000 rows through the mysql client and MariaDB Connector/J) with the
# proxy's memory. Writes the MySQL section of bench/RESULTS.md (bench/report.py mysql ...).
# Usage: bench/sysbench.sh [--quick]    (see bench/README.md)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
source "$root/.ci/java-home"

MYHOST=${MYHOST_DIRECT:-127.0.0.1}
MYPORT=${MYPORT_DIRECT:-3306}
MYADMIN=${MYUSER_ADMIN:-root}           # creates the database and the bench user; empty password
DB=${BENCH_DB:-cs_sbtest}
TABLES=${BENCH_TABLES:-4}
TABLE_SIZE=${BENCH_TABLE_SIZE:-100000}
DURATION=${BENCH_SECONDS:-10}
ROUNDS=${BENCH_ROUNDS:-3}
THREADS=${BENCH_THREADS:-"1 8 32"}
TESTS=${BENCH_TESTS:-"oltp_point_select oltp_read_only"}
LARGE_ROWS=${BENCH_LARGE_ROWS:-1000000}
WARMUP=${BENCH_WARMUP_SECONDS:-5}
if [ "${1:-}" = "--quick" ]; then DURATION=3; ROUNDS=1; THREADS="1 8"; LARGE_ROWS=200000; WARMUP=5; fi

# sysbench and the mysql client come from Debian; install them when missing (root only).
need=()
command -v sysbench >/dev/null 2>&1 || need+=(sysbench)
command -v mysql >/dev/null 2>&1 || need+=(mariadb-client)
if [ "${BENCH_HAPROXY:-1}" = 1 ]; then command -v haproxy >/dev/null 2>&1 || need+=(haproxy); fi
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then echo "bench: ${need[*]} missing; install with: sudo apt-get install ${need[*]}" >&2; exit 1; fi
  echo "bench: installing ${need[*]}" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null \
    || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null; }
fi

work=$(mktemp -d /tmp/cs-sysbench.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
cpu_seconds() { awk -v hz="$(getconf CLK_TCK)" '{print ($14+$15)/hz}' "/proc/$1/stat"; }
rss_kib() { awk -v k="$2" '$1 == k":" {print $2}' "/proc/$1/status"; }
admin_sql() { mysql -h "$MYHOST" -P "$MYPORT" -u "$MYADMIN" --protocol=tcp -N -B "$@"; }

BENCH_USER=cs_bench
BENCH_PW=cs-bench-backend
echo "bench: preparing $DB ($TABLES tables x $TABLE_SIZE rows, plus $LARGE_ROWS rows in cs_big) on $MYHOST:$MYPORT" >&2
admin_sql -e "DROP DATABASE IF EXISTS $DB; CREATE DATABASE $DB;
  CREATE USER IF NOT EXISTS '$BENCH_USER'@'%' IDENTIFIED BY '$BENCH_PW';
  CREATE USER IF NOT EXISTS '$BENCH_USER'@'localhost' IDENTIFIED BY '$BENCH_PW';
  GRANT ALL ON $DB.* TO '$BENCH_USER'@'%'; GRANT ALL ON $DB.* TO '$BENCH_USER'@'localhost';"
sb_common=(--db-driver=mysql --tables="$TABLES" --table-size="$TABLE_SIZE")
sysbench oltp_read_only "${sb_common[@]}" --mysql-host="$MYHOST" --mysql-port="$MYPORT" --mysql-user="$BENCH_USER" \
  --mysql-password="$BENCH_PW" --mysql-db="$DB" prepare >/dev/null
# The large result: id, a 32-character hash and a DATETIME(6) per row, built from MariaDB's sequence engine.
admin_sql "$DB" -e "CREATE TABLE cs_big (id INT PRIMARY KEY, h CHAR(32) NOT NULL, t DATETIME(6) NOT NULL);
  INSERT INTO cs_big SELECT seq, md5(seq), now(6) FROM seq_1_to_$LARGE_ROWS;"

# --- Countersign: MySQL listener only, the whole gate (analysis, default policy, tracking, wire check), audit off ---
cs_port=$(free_port); admin_port=$(free_port)
# BENCH_BACKEND_SOCKET=1: Countersign reaches MariaDB over its Unix socket (backends[].socket), as when it runs
# beside the database; sysbench still reaches both MariaDB (direct) and Countersign over TCP.
if [ "${BENCH_BACKEND_SOCKET:-0}" = 1 ]; then
  socket=${BENCH_MYSQL_SOCKET:-$(admin_sql -e "SELECT @@socket")}
  [ -S "$socket" ] || { echo "bench: BENCH_BACKEND_SOCKET=1 but MariaDB's socket '$socket' is not here; set BENCH_MYSQL_SOCKET" >&2; exit 1; }
  backend_at="    socket: $socket"
  export BENCH_BACKEND_TRANSPORT="its Unix socket ($socket)"
else
  backend_at="    host: $MYHOST
    port: $MYPORT"
  export BENCH_BACKEND_TRANSPORT="TCP ($MYHOST:$MYPORT)"
fi
# BENCH_EVENT_LOOP_THREADS=N sets listeners.mysql.event-loop-threads; unset, the listener's default
loops_line=""
if [ -n "${BENCH_EVENT_LOOP_THREADS:-}" ]; then loops_line="    event-loop-threads: $BENCH_EVENT_LOOP_THREADS"; fi
export BENCH_EVENT_LOOPS="${BENCH_EVENT_LOOP_THREADS:-the default}"
cat > "$work/countersign-mysql.yaml" <<YAML
listeners:
  mysql:
    host: 127.0.0.1
    port: $cs_port
    auth: [mysql_native_password]
$loops_line
admin:
  host: 127.0.0.1
  port: $admin_port
backends:
  - name: $DB
    type: mysql
$backend_at
    database: $DB
    user: $BENCH_USER
    password: $BENCH_PW
    tls: disable
data-dir: $work/countersign-data
audit:
  enabled: ${BENCH_AUDIT:-false}
analysis:
  # the large-result test reads all of cs_big on purpose; the default (10,000) would hold it as an export
  large-table-rows: 100000000
agents:
  - name: bench-agent
    owner: bench@example.com
    password: bench-agent-pw
    backends: [$DB]
YAML
if [ -n "${BENCH_EXTRA_CONFIG:-}" ]; then cat "$BENCH_EXTRA_CONFIG" >> "$work/countersign-mysql.yaml"; fi
JAVA_OPTS="${JAVA_OPTS:--Xmx512m -XX:+UseParallelGC}" "$root/countersign" serve --config "$work/countersign-mysql.yaml" > "$work/countersign.log" 2>&1 &
pids+=("$!")
up=0
for _ in $(seq 900); do
  if mysql -h 127.0.0.1 -P "$cs_port" -u bench-agent -pbench-agent-pw --protocol=tcp -N -B "$DB" -e "SELECT 1" >/dev/null 2>&1; then up=1; break; fi
  sleep 0.2
done
[ "$up" = 1 ] || { echo "bench: Countersign did not start; log:" >&2; tail -30 "$work/countersign.log" >&2; exit 1; }
# the listener logs its event-loop thread count at start
loops=$(sed -n 's/.*MySQL listener on .* (\([0-9]*\) event-loop threads).*/\1/p' "$work/countersign.log" | head -1)
if [ -n "$loops" ]; then
  if [ -n "${BENCH_EVENT_LOOP_THREADS:-}" ]; then export BENCH_EVENT_LOOPS="$loops (set)"; else export BENCH_EVENT_LOOPS="$loops (the default)"; fi
fi
cs_pid=$(pgrep -f "countersign-mysql.yaml" | while read -r p; do [ "$(cat /proc/$p/comm)" = java ] && echo "$p"; done | head -1)

# --- HAProxy in TCP mode: a byte relay in C that parses nothing, the floor for any proxy's cost on this machine ---
# MySQL has no PgBouncer in Debian (ProxySQL and MaxScale are not packaged), so the reference relay is HAProxy:
# whatever it loses against direct, every proxy that keeps MySQL's one-command-at-a-time exchange loses too.
if [ "${BENCH_HAPROXY:-1}" = 1 ]; then
  haproxy_port=$(free_port)
  cat > "$work/haproxy.cfg" <<CFG
global
  maxconn 4000
defaults
  mode tcp
  timeout connect 5s
  timeout client 1h
  timeout server 1h
listen mysql
  bind 127.0.0.1:$haproxy_port
  option tcp-smart-accept
  option tcp-smart-connect
  server db $MYHOST:$MYPORT
CFG
  haproxy -f "$work/haproxy.cfg" > "$work/haproxy.log" 2>&1 &
  haproxy_pid=$!; pids+=("$haproxy_pid")
  for _ in $(seq 50); do mysql -h 127.0.0.1 -P "$haproxy_port" -u "$BENCH_USER" -p"$BENCH_PW" --protocol=tcp -N -B "$DB" -e "SELECT 1" >/dev/null 2>&1 && break; sleep 0.1; done
  export BENCH_HAPROXY_VERSION=$(haproxy -v 2>/dev/null | sed -n 's/^HAProxy version \([^ ]*\).*/\1/p' | head -1)
fi

# target name -> "host port user password pid"
declare -A T
T[direct]="$MYHOST $MYPORT $BENCH_USER $BENCH_PW -"
T[countersign]="127.0.0.1 $cs_port bench-agent bench-agent-pw $cs_pid"
TARGETS="direct countersign"
if [ -n "${haproxy_pid:-}" ]; then
  T[haproxy]="127.0.0.1 $haproxy_port $BENCH_USER $BENCH_PW $haproxy_pid"
  TARGETS="direct haproxy countersign"
fi

results="$work/results.tsv"   # test target threads round tps qps latency_ms cpu_us_per_txn
: > "$results"

sb() { # target test threads seconds -> sysbench output
  local target=$1 test=$2 threads=$3 secs=$4
  read -r host port user pw pid <<<"${T[$target]}"
  sysbench "$test" "${sb_common[@]}" --mysql-host="$host" --mysql-port="$port" --mysql-user="$user" --mysql-password="$pw" \
    --mysql-db="$DB" --threads="$threads" --time="$secs" --report-interval=0 run 2>&1
}

run_sysbench() { # target test threads round
  local target=$1 test=$2 threads=$3 round=$4
  read -r host port user pw pid <<<"${T[$target]}"
  local cpu0=0; [ "$pid" != - ] && cpu0=$(cpu_seconds "$pid")
  local out
  out=$(sb "$target" "$test" "$threads" "$DURATION") || { echo "$out" >&2; return 1; }
  local txns tps qps lat cpu_us=nan
  txns=$(sed -n 's/^ *transactions: *\([0-9]*\) *(\([0-9.]*\) per sec.*/\1/p' <<<"$out")
  tps=$(sed -n 's/^ *transactions: *[0-9]* *(\([0-9.]*\) per sec.*/\1/p' <<<"$out")
  qps=$(sed -n 's/^ *queries: *[0-9]* *(\([0-9.]*\) per sec.*/\1/p' <<<"$out")
  lat=$(awk '/Latency \(ms\):/ {l=1} l && $1 == "avg:" {print $2; exit}' <<<"$out")
  if [ -z "$txns" ] || [ "$txns" = 0 ]; then echo "bench: sysbench reported no transactions:" >&2; echo "$out" >&2; return 1; fi
  if [ "$pid" != - ]; then cpu_us=$(awk -v a="$cpu0" -v b="$(cpu_seconds "$pid")" -v n="$txns" 'BEGIN {printf "%.1f", (b-a)*1e6/n}'); fi
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$test" "$target" "$threads" "$round" "$tps" "$qps" "$lat" "$cpu_us" >> "$results"
  echo "bench: $test t=$threads $target round $round: tps=$tps qps=$qps lat=${lat}ms cpu/txn=${cpu_us}us" >&2
}

# Warm-up, not recorded: the JIT compiles Countersign's hot path, the analysis cache fills.
for target in $TARGETS; do
  for test in $TESTS; do sb "$target" "$test" 8 "$WARMUP" >/dev/null; done
done

for round in $(seq "$ROUNDS"); do
  for test in $TESTS; do
    for threads in $THREADS; do
      for target in $TARGETS; do
        run_sysbench "$target" "$test" "$threads" "$round"
      done
    done
  done
done

# --- large results: the whole of cs_big through the mysql client (--quick: row by row) and Connector/J ---
large="$work/large.tsv"; : > "$large"   # kind target round mib_per_s
big_sql="SELECT id, h, t FROM cs_big"
jdbc_jar=$(ls "$root"/server/target/lib/mariadb-java-client-*.jar | head -1)
rss_before=$(rss_kib "$cs_pid" VmRSS)
hwm_before=$(rss_kib "$cs_pid" VmHWM)
for round in $(seq "$ROUNDS"); do
  for target in direct countersign; do
    read -r host port user pw pid <<<"${T[$target]}"
    start=$(date +%s.%N)
    bytes=$(mysql -h "$host" -P "$port" -u "$user" -p"$pw" --protocol=tcp --quick -N -B "$DB" -e "$big_sql" | wc -c)
    end=$(date +%s.%N)
    printf 'client\t%s\t%s\t%s\n' "$target" "$round" "$(awk -v b="$bytes" -v s="$start" -v e="$end" 'BEGIN {printf "%.1f", b/1048576/(e-s)}')" >> "$large"
    mbps=$(java -cp "$jdbc_jar" "$here/sysbench_large_select.java" "jdbc:mariadb://$host:$port/$DB" "$user" "$pw" "$big_sql" "$LARGE_ROWS")
    printf 'jdbc\t%s\t%s\t%s\n' "$target" "$round" "$mbps" >> "$large"
    echo "bench: large $target round $round: mysql client $(tail -2 "$large" | head -1 | cut -f4) MiB/s, Connector/J $mbps MiB/s" >&2
  done
done
rss_after=$(rss_kib "$cs_pid" VmRSS)
hwm_after=$(rss_kib "$cs_pid" VmHWM)

echo "bench: raw rounds in $results and $large" >&2
python3 "$here/report.py" mysql "$results" "$large" "$rss_before" "$rss_after" "$hwm_before" "$hwm_after" \
  "$DURATION" "$ROUNDS" "$TABLES" "$TABLE_SIZE" "$LARGE_ROWS"
sed -n '/<!-- generated:mysql begin/,/<!-- generated:mysql end/p' "${BENCH_RESULTS:-$here/RESULTS.md}"
