#!/usr/bin/env bash
# Countersign vs direct vs PgBouncer on the same PostgreSQL, rounds interleaved, medians reported.
# Usage: bench/pgbench.sh [--quick]    (see bench/README.md)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
source "$root/.ci/java-home"

# The tools this bench drives, from Debian's packages when missing.
need=()
command -v pgbench >/dev/null || need+=(postgresql-contrib)
command -v pgbouncer >/dev/null || need+=(pgbouncer)
command -v psql >/dev/null || need+=(postgresql-client)
if [ ${#need[@]} -gt 0 ]; then
  echo "bench: installing ${need[*]} from Debian's packages" >&2
  if [ "$(id -u)" = 0 ]; then apt-get install -y -q "${need[@]}" >/dev/null; else sudo apt-get install -y -q "${need[@]}" >/dev/null; fi
fi

PGHOST_DIRECT=${PGHOST_DIRECT:-127.0.0.1}
PGPORT_DIRECT=${PGPORT_DIRECT:-5432}
PGUSER_DIRECT=${PGUSER_DIRECT:-postgres}
DB=${BENCH_DB:-cs_bench}
SCALE=${BENCH_SCALE:-10}
DURATION=${BENCH_SECONDS:-10}
ROUNDS=${BENCH_ROUNDS:-3}
CLIENTS=${BENCH_CLIENTS:-"1 8 32"}
COPY_ROWS=${BENCH_COPY_ROWS:-4500000}   # ~1 GB of COPY text with the 220-byte rows below
if [ "${1:-}" = "--quick" ]; then DURATION=3; ROUNDS=1; CLIENTS="1 8"; COPY_ROWS=500000; fi

work=$(mktemp -d /tmp/cs-bench.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
median() { sort -g | awk '{a[NR]=$1} END {if (NR==0) print "nan"; else if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
# user+system CPU seconds of a process so far, from /proc
cpu_seconds() { awk -v hz="$(getconf CLK_TCK)" '{print ($14+$15)/hz}' "/proc/$1/stat"; }
peak_rss_kib() { awk '/VmHWM/ {print $2}' "/proc/$1/status"; }

psql_direct() { psql -X -q -h "$PGHOST_DIRECT" -p "$PGPORT_DIRECT" -U "$PGUSER_DIRECT" "$@"; }

# A throwaway cluster of our own, so 1,000 idle connections fit and settings are the same on every
# machine; BENCH_USE_EXISTING=1 uses the server at PGHOST_DIRECT:PGPORT_DIRECT instead.
if [ "${BENCH_USE_EXISTING:-0}" != 1 ]; then
  pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
  PGPORT_DIRECT=$(free_port)
  mkdir -p "$work/pg"; chown postgres "$work" "$work/pg" 2>/dev/null || true; chmod 755 "$work"
  as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
  as_pg "$pgbin/initdb" -D "$work/pg/data" -U postgres -A trust -E UTF8 >/dev/null
  as_pg "$pgbin/pg_ctl" -D "$work/pg/data" -l "$work/pg/log" -w -o "-p $PGPORT_DIRECT -k $work/pg -c listen_addresses=127.0.0.1 -c max_connections=1200 -c shared_buffers=256MB" start >/dev/null
  stop_pg() { as_pg "$pgbin/pg_ctl" -D "$work/pg/data" -m fast stop >/dev/null 2>&1 || true; }
  trap 'cleanup; stop_pg' EXIT
fi
echo "bench: preparing database $DB (scale $SCALE) on $PGHOST_DIRECT:$PGPORT_DIRECT" >&2
psql_direct -d postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB" >/dev/null
pgbench -q -i -s "$SCALE" -h "$PGHOST_DIRECT" -p "$PGPORT_DIRECT" -U "$PGUSER_DIRECT" "$DB" >/dev/null 2>&1
psql_direct -d "$DB" -c "DO \$\$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname='cs_bench') THEN CREATE ROLE cs_bench LOGIN PASSWORD 'cs-bench-backend'; END IF; END \$\$" \
  -c "GRANT ALL ON ALL TABLES IN SCHEMA public TO cs_bench" -c "GRANT ALL ON SCHEMA public TO cs_bench" >/dev/null

# --- PgBouncer, session mode ---
bouncer_port=$(free_port)
cat > "$work/pgbouncer.ini" <<INI
[databases]
$DB = host=$PGHOST_DIRECT port=$PGPORT_DIRECT dbname=$DB user=$PGUSER_DIRECT
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $bouncer_port
auth_type = trust
auth_file = $work/userlist.txt
pool_mode = session
max_client_conn = 2000
default_pool_size = 64
unix_socket_dir =
logfile = $work/pgbouncer.log
pidfile = $work/pgbouncer.pid
INI
echo "\"$PGUSER_DIRECT\" \"\"" > "$work/userlist.txt"
chmod 644 "$work/pgbouncer.ini" "$work/userlist.txt"; chmod 755 "$work"
if [ "$(id -u)" = 0 ]; then runuser -u postgres -- pgbouncer -d "$work/pgbouncer.ini"; else pgbouncer -d "$work/pgbouncer.ini"; fi
for _ in $(seq 50); do [ -s "$work/pgbouncer.pid" ] && break; sleep 0.1; done
bouncer_pid=$(cat "$work/pgbouncer.pid"); pids+=("$bouncer_pid")

# --- Countersign: one instance with the audit off, one with it on (bounded fsync, the throughput setting) ---
start_countersign() { # name audit-enabled -> sets cs_port_<name>, cs_pid_<name>
  local name=$1 audit=$2 port admin
  port=$(free_port); admin=$(free_port)
  cat > "$work/countersign-$name.yaml" <<YAML
listeners:
  postgres:
    host: 127.0.0.1
    port: $port
    auth: [scram-sha-256]
admin:
  host: 127.0.0.1
  port: $admin
backends:
  - name: $DB
    host: $PGHOST_DIRECT
    port: $PGPORT_DIRECT
    database: $DB
    user: cs_bench
    password: cs-bench-backend
    tls: disable
data-dir: $work/countersign-data-$name
audit:
  enabled: $audit
  fsync: ${BENCH_AUDIT_FSYNC:-bounded}
agents:
  - name: bench-agent
    owner: bench@example.com
    password: bench-agent-pw
    backends: [$DB]
YAML
  if [ -n "${BENCH_EXTRA_CONFIG:-}" ]; then cat "$BENCH_EXTRA_CONFIG" >> "$work/countersign-$name.yaml"; fi
  JAVA_OPTS="${JAVA_OPTS:--Xmx512m -XX:+UseParallelGC}" "$root/countersign" serve --config "$work/countersign-$name.yaml" > "$work/countersign-$name.log" 2>&1 &
  pids+=("$!")
  for _ in $(seq 900); do pg_isready -q -h 127.0.0.1 -p "$port" && break; sleep 0.1; done
  pg_isready -q -h 127.0.0.1 -p "$port" || { echo "bench: Countersign ($name) did not start; log:" >&2; tail -30 "$work/countersign-$name.log" >&2; exit 1; }
  local pid
  pid=$(pgrep -f "countersign-$name.yaml" | while read -r p; do [ "$(cat /proc/$p/comm)" = java ] && echo "$p"; done | head -1)
  printf -v "cs_port_$name" '%s' "$port"
  printf -v "cs_pid_$name" '%s' "$pid"
  printf -v "cs_admin_$name" '%s' "$admin"
}
start_countersign plain false
cs_port=$cs_port_plain; cs_pid=$cs_pid_plain
TARGETS="direct pgbouncer countersign"
if [ "${BENCH_WITH_AUDIT:-1}" = 1 ]; then
  start_countersign audited true
  TARGETS="$TARGETS countersign-audit"
  # The reference for the audit's cost: PostgreSQL's own statement log (a text line per statement, no fsync,
  # no hash chain, no Parquet), direct, in the same rounds; select-only only. Its lines go to the cluster's
  # log file, emptied after every run so a long bench does not fill the disk.
  if [ "${BENCH_USE_EXISTING:-0}" != 1 ]; then TARGETS="$TARGETS direct-logged"; fi
fi

# target name -> "host port user password pid"
declare -A T
T[direct]="$PGHOST_DIRECT $PGPORT_DIRECT $PGUSER_DIRECT - -"
T[direct-logged]="$PGHOST_DIRECT $PGPORT_DIRECT $PGUSER_DIRECT - -"
T[pgbouncer]="127.0.0.1 $bouncer_port $PGUSER_DIRECT - $bouncer_pid"
T[countersign]="127.0.0.1 $cs_port bench-agent bench-agent-pw $cs_pid"
T[countersign-audit]="127.0.0.1 ${cs_port_audited:-0} bench-agent bench-agent-pw ${cs_pid_audited:--}"

results="$work/results.tsv"   # test target clients mode round tps latency_ms cpu_us_per_txn
: > "$results"
backlog="$work/backlog.tsv"   # test clients mode round backlog_at_end drain_seconds
: > "$backlog"

# The audited Countersign's Parquet writer runs at idle priority and may trail the journal during a run:
# record how far it is behind when the run ends, then wait until it has caught up, so its conversion never
# lands in the next target's measurement.
audit_backlog() { curl -s "http://127.0.0.1:${cs_admin_audited}/metrics" | awk '/^countersign_audit_parquet_backlog / {printf "%d", $2}'; }
drain_audit() { # script mode clients round
  local left start end
  left=$(audit_backlog); start=$(date +%s.%N)
  for _ in $(seq 1200); do [ "$(audit_backlog)" = 0 ] && break; sleep 0.05; done
  end=$(date +%s.%N)
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$3" "$2" "$4" "${left:-nan}" "$(awk -v s="$start" -v e="$end" 'BEGIN {printf "%.2f", e-s}')" >> "$backlog"
  echo "bench: audit Parquet backlog at the end of the run: ${left:-?} records, caught up in $(tail -1 "$backlog" | cut -f6) s" >&2
}

run_pgbench() { # target script mode clients round
  local target=$1 script=$2 mode=$3 clients=$4 round=$5
  read -r host port user pw pid <<<"${T[$target]}"
  local sflag=""; [ "$script" = select-only ] && sflag="-S"
  local threads=$(( clients < 2 ? 1 : 2 ))
  local options=""
  if [ "$target" = direct-logged ]; then
    [ "$script" = select-only ] || return 0
    options="-c log_statement=all"
  fi
  local cpu0=0; [ "$pid" != - ] && cpu0=$(cpu_seconds "$pid")
  local out
  out=$(PGOPTIONS="$options" PGPASSWORD=$([ "$pw" = - ] || echo "$pw") pgbench -n $sflag -M "$mode" -c "$clients" -j "$threads" -T "$DURATION" -h "$host" -p "$port" -U "$user" "$DB" 2>&1) || { echo "$out" >&2; return 1; }
  if [ "$target" = direct-logged ]; then : > "$work/pg/log"; fi
  local tps lat txns cpu_us=nan
  tps=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' <<<"$out" | head -1)
  lat=$(sed -n 's/^latency average = \([0-9.]*\) ms/\1/p' <<<"$out")
  txns=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' <<<"$out")
  if [ "$pid" != - ]; then cpu_us=$(awk -v a="$cpu0" -v b="$(cpu_seconds "$pid")" -v n="$txns" 'BEGIN {printf "%.1f", (b-a)*1e6/n}'); fi
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$script" "$target" "$clients" "$mode" "$round" "$tps" "$lat" "$cpu_us" >> "$results"
  echo "bench: $script $mode c=$clients $target round $round: tps=$tps lat=${lat}ms cpu/txn=${cpu_us}us" >&2
  if [ "$target" = countersign-audit ]; then drain_audit "$script" "$mode" "$clients" "$round"; fi
}

# Warm-up, not recorded: lets the JIT compile Countersign's hot path and fills every cache.
for target in $TARGETS; do
  read -r host port user pw pid <<<"${T[$target]}"
  for mode in prepared simple; do
    PGPASSWORD=$([ "$pw" = - ] || echo "$pw") pgbench -n -S -M "$mode" -c 8 -j 2 -T "${BENCH_WARMUP_SECONDS:-5}" -h "$host" -p "$port" -U "$user" "$DB" >/dev/null 2>&1
  done
done

for round in $(seq "$ROUNDS"); do
  for script in select-only tpcb-like; do
    for mode in prepared simple; do
      for clients in $CLIENTS; do
        for target in $TARGETS; do
          run_pgbench "$target" "$script" "$mode" "$clients" "$round"
        done
      done
    done
  done
done

# --- large results: COPY out and a 1,000,000-row SELECT through pgjdbc ---
copy_sql="COPY (SELECT g, md5(g::text) || repeat('x', 180) AS pad FROM generate_series(1, $COPY_ROWS) g) TO STDOUT"
large="$work/large.tsv"; : > "$large"
jdbc_jar=$(ls "$root"/server/target/lib/postgresql-*.jar | head -1)
for round in $(seq "$ROUNDS"); do
  for target in direct countersign; do
    read -r host port user pw pid <<<"${T[$target]}"
    start=$(date +%s.%N)
    bytes=$(PGPASSWORD=$([ "$pw" = - ] || echo "$pw") psql -X -h "$host" -p "$port" -U "$user" -d "$DB" -c "$copy_sql" | wc -c)
    end=$(date +%s.%N)
    printf 'copy\t%s\t%s\t%s\n' "$target" "$round" "$(awk -v b="$bytes" -v s="$start" -v e="$end" 'BEGIN {printf "%.1f", b/1048576/(e-s)}')" >> "$large"
    mbps=$(java -cp "$jdbc_jar" "$here/LargeSelect.java" "jdbc:postgresql://$host:$port/$DB" "$user" "$([ "$pw" = - ] || echo "$pw")" 1000000)
    printf 'select\t%s\t%s\t%s\n' "$target" "$round" "$mbps" >> "$large"
    echo "bench: large $target round $round: copy $(tail -2 "$large" | head -1 | cut -f4) MiB/s, select $mbps MiB/s" >&2
  done
done
cs_rss_kib=$(peak_rss_kib "$cs_pid")

# --- idle connections: memory per connection ---
idle_rss_before=$(awk '/VmRSS/ {print $2}' "/proc/$cs_pid/status")
/usr/bin/python3 "$here/idle_connections.py" 127.0.0.1 "$cs_port" bench-agent bench-agent-pw "$DB" 1000 > "$work/idle.txt" 2>&1 &
idle_pid=$!
for _ in $(seq 300); do grep -q holding "$work/idle.txt" 2>/dev/null && break; sleep 0.2; done
idle_rss_after=$(awk '/VmRSS/ {print $2}' "/proc/$cs_pid/status")
kill "$idle_pid" 2>/dev/null || true
idle_conns=$(sed -n 's/holding \([0-9]*\).*/\1/p' "$work/idle.txt")

# report.py rewrites only its own sections of RESULTS.md: the MySQL table (sysbench.sh) and the
# hand-written text stay as they are.
BENCH_BACKLOG="$backlog" python3 "$here/report.py" pg "$results" "$large" "${cs_rss_kib}" "$idle_rss_before" "$idle_rss_after" "${idle_conns:-0}" "$DURATION" "$ROUNDS" "$SCALE"
# The analyser's JMH figures (bench/jmh/run.sh) travel with the table so RESULTS.md holds every number.
if [ -f "$here/jmh/RESULTS-analysis.md" ]; then
  python3 "$here/report.py" jmh "$here/jmh/RESULTS-analysis.md"
fi
cat "$here/RESULTS.md"
