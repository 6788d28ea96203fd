#!/usr/bin/env bash
# Tracking's cost: pgbench select-only through two Countersigns that differ only in tracking.enabled
# (both with the whole gate and the audit on, bounded fsync; BENCH_AUDIT=false leaves the audit out of
# both, to see tracking alone), rounds interleaved, median TPS compared.
# Target: tracking costs under 3 % of select-only TPS.
# Usage: bench/tracking-cost.sh            (BENCH_SECONDS=10, BENCH_ROUNDS=5, BENCH_CLIENTS="1 8 32")
#        BENCH_SECONDS=2 BENCH_ROUNDS=1 BENCH_CLIENTS=8 bench/tracking-cost.sh    (a smoke run, ~30 s)
# Writes bench/RESULTS-tracking.md (or $BENCH_OUT). Needs pgbench, psql, pg_ctl (Debian postgresql), the
# built launcher (./mvnw -DskipTests package, as for bench/pgbench.sh).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
source "$root/.ci/java-home"

PGHOST_DIRECT=${PGHOST_DIRECT:-127.0.0.1}
PGPORT_DIRECT=${PGPORT_DIRECT:-5432}
PGUSER_DIRECT=${PGUSER_DIRECT:-postgres}
DB=${BENCH_DB:-cs_tracking_bench}
SCALE=${BENCH_SCALE:-10}
DURATION=${BENCH_SECONDS:-10}
ROUNDS=${BENCH_ROUNDS:-5}
CLIENTS=${BENCH_CLIENTS:-"1 8 32"}
MODES=${BENCH_MODES:-"prepared simple"}
OUT=${BENCH_OUT:-$here/RESULTS-tracking.md}

work=$(mktemp -d /tmp/cs-tracking-bench.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
median() { sort -g | awk '{a[NR]=$1} END {if (NR==0) print "nan"; else if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
cpu_seconds() { awk -v hz="$(getconf CLK_TCK)" '{print ($14+$15)/hz}' "/proc/$1/stat"; }
psql_direct() { psql -X -q -h "$PGHOST_DIRECT" -p "$PGPORT_DIRECT" -U "$PGUSER_DIRECT" "$@"; }

[ -x "$root/countersign" ] || { echo "bench: $root/countersign not found; build first (./mvnw -DskipTests package)" >&2; exit 1; }
ls "$root"/server/target/lib/*.jar >/dev/null 2>&1 || { echo "bench: server/target/lib is empty; build first (./mvnw -DskipTests package)" >&2; exit 1; }

# A throwaway cluster, as bench/pgbench.sh does; BENCH_USE_EXISTING=1 uses PGHOST_DIRECT:PGPORT_DIRECT.
if [ "${BENCH_USE_EXISTING:-0}" != 1 ]; then
  pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
  PGPORT_DIRECT=$(free_port)
  mkdir -p "$work/pg"; chown postgres "$work" "$work/pg" 2>/dev/null || true; chmod 755 "$work"
  as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
  as_pg "$pgbin/initdb" -D "$work/pg/data" -U postgres -A trust -E UTF8 >/dev/null
  as_pg "$pgbin/pg_ctl" -D "$work/pg/data" -l "$work/pg/log" -w -o "-p $PGPORT_DIRECT -k $work/pg -c listen_addresses=127.0.0.1 -c max_connections=200 -c shared_buffers=256MB" start >/dev/null
  stop_pg() { as_pg "$pgbin/pg_ctl" -D "$work/pg/data" -m fast stop >/dev/null 2>&1 || true; }
  trap 'cleanup; stop_pg' EXIT
fi
echo "bench: preparing database $DB (scale $SCALE) on $PGHOST_DIRECT:$PGPORT_DIRECT" >&2
psql_direct -d postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB" >/dev/null
pgbench -q -i -s "$SCALE" -h "$PGHOST_DIRECT" -p "$PGPORT_DIRECT" -U "$PGUSER_DIRECT" "$DB" >/dev/null 2>&1
psql_direct -d "$DB" -c "DO \$\$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname='cs_bench') THEN CREATE ROLE cs_bench LOGIN PASSWORD 'cs-bench-backend'; END IF; END \$\$" \
  -c "GRANT ALL ON ALL TABLES IN SCHEMA public TO cs_bench" -c "GRANT ALL ON SCHEMA public TO cs_bench" >/dev/null

start_countersign() { # name tracking-enabled -> cs_port_<name>, cs_pid_<name>
  local name=$1 tracking=$2 port admin pid
  port=$(free_port); admin=$(free_port)
  cat > "$work/countersign-$name.yaml" <<YAML
listeners:
  postgres: {host: 127.0.0.1, port: $port, auth: [scram-sha-256]}
admin: {host: 127.0.0.1, port: $admin}
backends:
  - {name: $DB, host: $PGHOST_DIRECT, port: $PGPORT_DIRECT, database: $DB, user: cs_bench, password: cs-bench-backend, tls: disable}
data-dir: $work/countersign-data-$name
audit:
  enabled: ${BENCH_AUDIT:-true}
  fsync: ${BENCH_AUDIT_FSYNC:-bounded}
tracking:
  enabled: $tracking
agents:
  - {name: bench-agent, owner: bench@example.com, password: bench-agent-pw, backends: [$DB]}
YAML
  JAVA_OPTS="${JAVA_OPTS:--Xmx512m -XX:+UseParallelGC}" "$root/countersign" serve --config "$work/countersign-$name.yaml" > "$work/countersign-$name.log" 2>&1 &
  pids+=("$!")
  for _ in $(seq 900); do pg_isready -q -h 127.0.0.1 -p "$port" && break; sleep 0.1; done
  pg_isready -q -h 127.0.0.1 -p "$port" || { echo "bench: Countersign ($name) did not start; log:" >&2; tail -30 "$work/countersign-$name.log" >&2; exit 1; }
  pid=$(pgrep -f "countersign-$name.yaml" | while read -r p; do [ "$(cat /proc/$p/comm)" = java ] && echo "$p"; done | head -1)
  printf -v "cs_port_$name" '%s' "$port"
  printf -v "cs_pid_$name" '%s' "$pid"
}
start_countersign tracked true
start_countersign untracked false
declare -A PORT=([tracked]=$cs_port_tracked [untracked]=$cs_port_untracked)
declare -A PID=([tracked]=$cs_pid_tracked [untracked]=$cs_pid_untracked)

results="$work/results.tsv"; : > "$results"   # target mode clients round tps cpu_us_per_txn
run() { # target mode clients round
  local target=$1 mode=$2 clients=$3 round=$4 out tps txns cpu0 cpu_us
  local threads=$(( clients < 2 ? 1 : 2 ))
  cpu0=$(cpu_seconds "${PID[$target]}")
  out=$(PGPASSWORD=bench-agent-pw pgbench -n -S -M "$mode" -c "$clients" -j "$threads" -T "$DURATION" \
        -h 127.0.0.1 -p "${PORT[$target]}" -U bench-agent "$DB" 2>&1) || { echo "$out" >&2; return 1; }
  tps=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' <<<"$out" | head -1)
  txns=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' <<<"$out")
  cpu_us=$(awk -v a="$cpu0" -v b="$(cpu_seconds "${PID[$target]}")" -v n="$txns" 'BEGIN {printf "%.1f", (n > 0 ? (b-a)*1e6/n : 0)}')
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$target" "$mode" "$clients" "$round" "$tps" "$cpu_us" >> "$results"
  echo "bench: $mode c=$clients $target round $round: tps=$tps cpu/txn=${cpu_us}us" >&2
}

# Warm-up, not recorded (JIT, catalog, caches).
for target in tracked untracked; do
  for mode in $MODES; do
    PGPASSWORD=bench-agent-pw pgbench -n -S -M "$mode" -c 8 -j 2 -T "${BENCH_WARMUP_SECONDS:-$DURATION}" -h 127.0.0.1 -p "${PORT[$target]}" -U bench-agent "$DB" >/dev/null 2>&1
  done
done
# Interleaved, and the order alternates by round, so drift on a shared machine hits both alike.
for round in $(seq "$ROUNDS"); do
  order="tracked untracked"; [ $((round % 2)) = 0 ] && order="untracked tracked"
  for mode in $MODES; do
    for clients in $CLIENTS; do
      for target in $order; do run "$target" "$mode" "$clients" "$round"; done
    done
  done
done


{
  echo "# Tracking's cost on pgbench select-only"
  echo
  if [ "${BENCH_AUDIT:-true}" = true ]; then audit_note="audit on (${BENCH_AUDIT_FSYNC:-bounded} fsync)"; else audit_note="audit off in both (tracking alone)"; fi
  echo "$(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs, scale $SCALE, ${DURATION}s x $ROUNDS rounds per cell (interleaved), $audit_note."
  echo "Two Countersigns, identical but for \`tracking.enabled\`. Median TPS; cost = 1 - tracked/untracked (target < 3 %)."
  echo
  echo "| mode | clients | TPS untracked | TPS tracked | cost | CPU µs/txn untracked | CPU µs/txn tracked |"
  echo "|---|---:|---:|---:|---:|---:|---:|"
  for mode in $MODES; do
    for clients in $CLIENTS; do
      tu=$(awk -F'\t' -v m="$mode" -v c="$clients" '$1=="untracked" && $2==m && $3==c {print $5}' "$results" | median)
      tt=$(awk -F'\t' -v m="$mode" -v c="$clients" '$1=="tracked" && $2==m && $3==c {print $5}' "$results" | median)
      cu=$(awk -F'\t' -v m="$mode" -v c="$clients" '$1=="untracked" && $2==m && $3==c {print $6}' "$results" | median)
      ct=$(awk -F'\t' -v m="$mode" -v c="$clients" '$1=="tracked" && $2==m && $3==c {print $6}' "$results" | median)
      cost=$(awk -v u="$tu" -v t="$tt" 'BEGIN {if (u > 0) printf "%.1f %%", (1 - t/u) * 100; else print "nan"}')
      printf '| %s | %s | %.0f | %.0f | %s | %s | %s |\n' "$mode" "$clients" "$tu" "$tt" "$cost" "$cu" "$ct"
    done
  done
  echo
  echo "Raw rounds (target, mode, clients, round, tps, cpu µs/txn):"
  echo
  echo '```'
  cat "$results"
  echo '```'
} > "$work/RESULTS.md"
cp "$work/RESULTS.md" "$OUT"
cat "$OUT"
