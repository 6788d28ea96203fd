"""Turns bench/pgbench.sh's raw rounds into bench/RESULTS.md: medians and ratios."""
import datetime, os, platform, statistics, subprocess, sys
from collections import defaultdict

results, large, cs_rss, idle_before, idle_after, idle_n, duration, rounds, scale = sys.argv[1:10]

runs = defaultdict(list)
for line in open(results):
    script, target, clients, mode, rnd, tps, lat, cpu = line.rstrip("\n").split("\t")
    runs[(script, mode, int(clients), target)].append((float(tps), float(lat), float(cpu) if cpu != "nan" else None))

def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None

def fmt(x, spec=".0f"):
    return "n/a" if x is None else format(x, spec)

cpu = subprocess.run(["sh", "-c", "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"], capture_output=True, text=True).stdout.strip()
out = []
out.append("# Benchmark results\n")
out.append(f"Run {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC by `bench/pgbench.sh` on {os.cpu_count()} cores ({cpu}), "
           f"{platform.system()} {platform.release()}; pgbench scale {scale}, {duration} s per run, {rounds} interleaved round(s) "
           "(direct, PgBouncer session mode, Countersign), medians. Proxy, PostgreSQL and pgbench share the same cores.\n")
out.append("| script | mode | clients | direct TPS | PgBouncer TPS | Countersign TPS | CS/direct | CS/PgBouncer | direct lat ms | PgB lat ms | CS lat ms | PgB CPU µs/txn | CS CPU µs/txn | CS/PgB CPU |")
out.append("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
audit_rows = []
keys = sorted({(s, m, c) for (s, m, c, _) in runs}, key=lambda k: (k[0] != "select-only", k[1], k[2]))
for s, m, c in keys:
    d = runs.get((s, m, c, "direct"), []); b = runs.get((s, m, c, "pgbouncer"), []); x = runs.get((s, m, c, "countersign"), [])
    dt, bt, xt = med([r[0] for r in d]), med([r[0] for r in b]), med([r[0] for r in x])
    dl, bl, xl = med([r[1] for r in d]), med([r[1] for r in b]), med([r[1] for r in x])
    bc, xc = med([r[2] for r in b]), med([r[2] for r in x])
    ratio = lambda a, z: None if a is None or z in (None, 0) else a / z
    out.append(f"| {s} | {m} | {c} | {fmt(dt)} | {fmt(bt)} | {fmt(xt)} | {fmt(ratio(xt, dt), '.2f')} | {fmt(ratio(xt, bt), '.2f')} | "
               f"{fmt(dl, '.3f')} | {fmt(bl, '.3f')} | {fmt(xl, '.3f')} | {fmt(bc, '.1f')} | {fmt(xc, '.1f')} | {fmt(ratio(xc, bc), '.2f')} |")
    a = runs.get((s, m, c, "countersign-audit"), [])
    if a:
        at, ac = med([r[0] for r in a]), med([r[2] for r in a])
        per_txn = 1 if s == "select-only" else 7
        cost = None if not xt or at is None else 1 - at / xt
        audit_rows.append(f"| {s} | {m} | {c} | {fmt(xt)} | {fmt(at)} | {fmt(None if cost is None else cost * 100, '.1f')}% | "
                          f"{fmt(None if at is None else at * per_txn)} | {fmt(xc, '.1f')} | {fmt(ac, '.1f')} |")

if audit_rows:
    out.append("\n## Audit on vs off\n")
    out.append("A second Countersign with the audit on (journal + Parquet, bounded fsync of 5 ms), interleaved in the same rounds. "
               "Audited statements/s counts every statement the audit recorded (TPC-B-like: 7 per transaction).\n")
    out.append("| script | mode | clients | CS TPS, audit off | CS TPS, audit on | audit cost | audited statements/s | CS CPU µs/txn off | on |")
    out.append("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    out.extend(audit_rows)

lr = defaultdict(list)
for line in open(large):
    kind, target, rnd, mbps = line.rstrip("\n").split("\t")
    lr[(kind, target)].append(float(mbps))
out.append("\n## Large results\n")
out.append("| stream | direct MiB/s | Countersign MiB/s | CS/direct |")
out.append("|---|---:|---:|---:|")
for kind, label in (("copy", "COPY ... TO STDOUT via psql"), ("select", "1,000,000-row SELECT via pgjdbc, fetchSize 10,000")):
    d, x = med(lr[(kind, "direct")]), med(lr[(kind, "countersign")])
    out.append(f"| {label} | {fmt(d, '.1f')} | {fmt(x, '.1f')} | {fmt(None if not d else x / d, '.2f')} |")
out.append(f"\nCountersign peak RSS over the whole run (VmHWM): {int(cs_rss) / 1024:.0f} MiB (JVM with -Xmx512m).")
n = int(idle_n)
if n:
    per = (int(idle_after) - int(idle_before)) * 1024 / n
    out.append(f"\nIdle connections: {n} held open through Countersign added {(int(idle_after) - int(idle_before)) / 1024:.1f} MiB RSS, "
               f"{per / 1024:.1f} KiB per connection (client and backend channel included).")
print("\n".join(out))
