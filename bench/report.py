"""Turns the harnesses' raw rounds into bench/RESULTS.md: medians and ratios.

RESULTS.md is shared: each harness owns one generated section between markers
(<!-- generated:NAME begin --> ... <!-- generated:NAME end -->) and rewrites only that one, so the
PostgreSQL table (pgbench.sh), the MySQL table (sysbench.sh), the analyser's JMH figures and any
hand-written text outside the markers all survive each other's runs.

  report.py pg RESULTS LARGE CS_RSS IDLE_BEFORE IDLE_AFTER IDLE_N DURATION ROUNDS SCALE
  report.py mysql RESULTS LARGE RSS_BEFORE RSS_AFTER HWM_BEFORE HWM_AFTER DURATION ROUNDS TABLES TABLE_SIZE LARGE_ROWS
  report.py jmh bench/jmh/RESULTS-analysis.md
(the first form without "pg" is accepted too). The file written is $BENCH_RESULTS, default
bench/RESULTS.md next to this script; $BENCH_NOTE, when set, is printed under the MySQL run's heading.
"""
import datetime, os, platform, re, statistics, subprocess, sys
from collections import defaultdict

RESULTS_MD = os.environ.get("BENCH_RESULTS", os.path.join(os.path.dirname(os.path.abspath(__file__)), "RESULTS.md"))
# where a section goes when the file does not have it yet: pg first, mysql after the hand-written
# text that follows pg, jmh last
ORDER = ["pg", "mysql", "jmh"]


def splice(name, body, path=RESULTS_MD):
    """Replaces section `name` of the file with `body`, keeping everything else as it is."""
    begin, end = f"<!-- generated:{name} begin -->", f"<!-- generated:{name} end -->"
    block = f"{begin}\n{body.rstrip()}\n{end}"
    text = open(path).read() if os.path.exists(path) else "# Benchmark results\n"
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.S)
    if pattern.search(text):
        text = pattern.sub(lambda _: block, text, count=1)
    else:
        later = [n for n in ORDER[ORDER.index(name) + 1:] if f"<!-- generated:{n} begin -->" in text] if name in ORDER else []
        if later:
            at = text.index(f"<!-- generated:{later[0]} begin -->")
            text = text[:at] + block + "\n\n" + text[at:]
        else:
            text = text.rstrip() + "\n\n" + block + "\n"
    with open(path, "w") as f:
        f.write(text)


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def fmt(x, spec=".0f"):
    return "n/a" if x is None else format(x, spec)


def ratio(a, z):
    return None if a is None or z in (None, 0) else a / z


def machine():
    cpu = subprocess.run(["sh", "-c", "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"], capture_output=True, text=True).stdout.strip()
    return f"{os.cpu_count()} cores ({cpu}), {platform.system()} {platform.release()}"


def now():
    return f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC"


def pg_report(argv):
    results, large, cs_rss, idle_before, idle_after, idle_n, duration, rounds, scale = argv[:9]

    runs = defaultdict(list)
    for line in open(results):
        script, target, clients, mode, rnd, tps, lat, cpu = line.rstrip("\n").split("\t")
        runs[(script, mode, int(clients), target)].append((float(tps), float(lat), float(cpu) if cpu != "nan" else None))

    out = []
    out.append("## PostgreSQL: pgbench\n")
    out.append(f"Run {now()} by `bench/pgbench.sh` on {machine()}; pgbench scale {scale}, {duration} s per run, {rounds} interleaved round(s) "
               "(direct, PgBouncer session mode, Countersign), medians. Proxy, PostgreSQL and pgbench share the same cores.\n")
    out.append("| script | mode | clients | direct TPS | PgBouncer TPS | Countersign TPS | CS/direct | CS/PgBouncer | direct lat ms | PgB lat ms | CS lat ms | PgB CPU µs/txn | CS CPU µs/txn | CS/PgB CPU |")
    out.append("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    audit_rows = []
    backlogs = defaultdict(list)
    if os.environ.get("BENCH_BACKLOG") and os.path.exists(os.environ["BENCH_BACKLOG"]):
        for line in open(os.environ["BENCH_BACKLOG"]):
            bs, bc, bm, _rnd, left, drain = line.rstrip("\n").split("\t")
            if left != "nan":
                backlogs[(bs, bm, int(bc))].append((float(left), float(drain)))
    keys = sorted({(s, m, c) for (s, m, c, _) in runs}, key=lambda k: (k[0] != "select-only", k[1], k[2]))
    for s, m, c in keys:
        d = runs.get((s, m, c, "direct"), []); b = runs.get((s, m, c, "pgbouncer"), []); x = runs.get((s, m, c, "countersign"), [])
        dt, bt, xt = med([r[0] for r in d]), med([r[0] for r in b]), med([r[0] for r in x])
        dl, bl, xl = med([r[1] for r in d]), med([r[1] for r in b]), med([r[1] for r in x])
        bc, xc = med([r[2] for r in b]), med([r[2] for r in x])
        out.append(f"| {s} | {m} | {c} | {fmt(dt)} | {fmt(bt)} | {fmt(xt)} | {fmt(ratio(xt, dt), '.2f')} | {fmt(ratio(xt, bt), '.2f')} | "
                   f"{fmt(dl, '.3f')} | {fmt(bl, '.3f')} | {fmt(xl, '.3f')} | {fmt(bc, '.1f')} | {fmt(xc, '.1f')} | {fmt(ratio(xc, bc), '.2f')} |")
        a = runs.get((s, m, c, "countersign-audit"), [])
        if a:
            at, ac = med([r[0] for r in a]), med([r[2] for r in a])
            per_txn = 1 if s == "select-only" else 7
            cost = None if not xt or at is None else 1 - at / xt
            bl = backlogs.get((s, m, c), [])
            left = med([b[0] for b in bl]) if bl else None
            drain = med([b[1] for b in bl]) if bl else None
            lg = med([r[0] for r in runs.get((s, m, c, "direct-logged"), [])])
            log_cost = None if not dt or lg is None else (1 - lg / dt) * 100
            audit_rows.append(f"| {s} | {m} | {c} | {fmt(xt)} | {fmt(at)} | {fmt(None if cost is None else cost * 100, '.1f')}% | "
                              f"{fmt(None if at is None else at * per_txn)} | {fmt(xc, '.1f')} | {fmt(ac, '.1f')} | "
                              f"{fmt(left)} | {fmt(drain, '.2f')} | {fmt(lg)} | "
                              f"{'n/a' if log_cost is None else fmt(log_cost, '.1f') + '%'} |")

    if audit_rows:
        out.append("\n## Audit on vs off\n")
        out.append("A second Countersign with the audit on (journal + Parquet, bounded fsync of 5 ms), interleaved in the same rounds. "
                   "Audited statements/s counts every statement the audit recorded (TPC-B-like: 7 per transaction). "
                   "The Parquet writer runs at idle CPU priority: *backlog* is how many durable records still waited for "
                   "Parquet when the run ended (medians), *caught up* how long it then took to reach zero; the bench waits "
                   "for that before the next target runs. The CPU columns count the run only, so conversion left for after it shows as backlog, not as CPU. "
                   "The last two columns are the reference, in the same rounds: pgbench straight to PostgreSQL with its own statement log on "
                   "(`log_statement = 'all'`: a text line per statement to the server's log file, no fsync, no hash chain, no Parquet), "
                   "and what that log costs PostgreSQL against the direct column above (select-only only).\n")
        out.append("| script | mode | clients | CS TPS, audit off | CS TPS, audit on | audit cost | audited statements/s | CS CPU µs/txn off | on | backlog | caught up s | direct TPS, PostgreSQL logging every statement | its cost |")
        out.append("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
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
    return "\n".join(out)


def mysql_report(argv):
    results, large, rss_before, rss_after, hwm_before, hwm_after, duration, rounds, tables, table_size, large_rows = argv[:11]
    runs = defaultdict(list)
    for line in open(results):
        test, target, threads, rnd, tps, qps, lat, cpu = line.rstrip("\n").split("\t")
        runs[(test, int(threads), target)].append((float(tps), float(qps), float(lat), float(cpu) if cpu != "nan" else None))
    out = ["## MySQL: sysbench\n"]
    out.append(f"Run {now()} by `bench/sysbench.sh` on {machine()}; MariaDB "
               f"{mariadb_version()} on the same machine, sysbench {tables} tables x {table_size} rows, {duration} s per run, "
               f"{rounds} interleaved round(s) (direct, then Countersign's MySQL listener with the whole gate: analysis, default "
               "policy, tracking, wire check; audit off), medians. Proxy, MariaDB and sysbench share the same cores. "
               f"Countersign reached MariaDB over {os.environ.get('BENCH_BACKEND_TRANSPORT', 'TCP')} with "
               f"{os.environ.get('BENCH_EVENT_LOOPS', 'the default')} event-loop thread(s); sysbench reached both over TCP. "
               "oltp_point_select is one primary-key SELECT per transaction; oltp_read_only is BEGIN, 10 point selects, "
               "4 range selects, COMMIT (server-side prepared statements, as sysbench uses by default).\n")
    if os.environ.get("BENCH_NOTE"):
        out.append(f"**Note:** {os.environ['BENCH_NOTE']}\n")
    haproxy = any(target == "haproxy" for (_, _, target) in runs)
    if haproxy:
        out.append(f"HAProxy {os.environ.get('BENCH_HAPROXY_VERSION', '')} in TCP mode ran in the same rounds as the reference "
                   "relay: it copies bytes between two sockets and parses nothing, so what it loses against direct is the "
                   "cost of one more hop on this machine, which every MySQL proxy pays (Debian packages no ProxySQL or "
                   "MaxScale). CPU µs/txn is the proxy process's user+system time per transaction.\n")
        out.append("| test | threads | direct TPS | HAProxy TPS | Countersign TPS | CS/direct | HAProxy/direct | CS/HAProxy | "
                   "direct lat ms | CS lat ms | HAProxy CPU µs/txn | CS CPU µs/txn | CS/HAProxy CPU |")
        out.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    else:
        out.append("| test | threads | direct TPS | Countersign TPS | CS/direct | direct lat ms | CS lat ms | CS queries/s | CS CPU µs/txn |")
        out.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    ratios, relay_ratios = {}, {}
    for test, threads in sorted({(t, n) for (t, n, _) in runs}, key=lambda k: (k[0] != "oltp_point_select", k[1])):
        d, x = runs.get((test, threads, "direct"), []), runs.get((test, threads, "countersign"), [])
        dt, xt = med([r[0] for r in d]), med([r[0] for r in x])
        dl, xl = med([r[2] for r in d]), med([r[2] for r in x])
        xq, xc = med([r[1] for r in x]), med([r[3] for r in x])
        ratios[(test, threads)] = ratio(xt, dt)
        if haproxy:
            h = runs.get((test, threads, "haproxy"), [])
            ht, hc = med([r[0] for r in h]), med([r[3] for r in h])
            relay_ratios[(test, threads)] = ratio(ht, dt)
            out.append(f"| {test} | {threads} | {fmt(dt)} | {fmt(ht)} | {fmt(xt)} | {fmt(ratio(xt, dt), '.2f')} | "
                       f"{fmt(ratio(ht, dt), '.2f')} | {fmt(ratio(xt, ht), '.2f')} | {fmt(dl, '.2f')} | {fmt(xl, '.2f')} | "
                       f"{fmt(hc, '.1f')} | {fmt(xc, '.1f')} | {fmt(ratio(xc, hc), '.2f')} |")
        else:
            out.append(f"| {test} | {threads} | {fmt(dt)} | {fmt(xt)} | {fmt(ratio(xt, dt), '.2f')} | {fmt(dl, '.2f')} | {fmt(xl, '.2f')} | "
                       f"{fmt(xq)} | {fmt(xc, '.1f')} |")
    lr = defaultdict(list)
    for line in open(large):
        kind, target, rnd, mbps = line.rstrip("\n").split("\t")
        lr[(kind, target)].append(float(mbps))
    out.append("\n### Large results (MySQL)\n")
    out.append("| stream | direct MiB/s | Countersign MiB/s | CS/direct |")
    out.append("|---|---:|---:|---:|")
    large_ratios = []
    for kind, label in (("client", f"{int(large_rows):,}-row SELECT via the mysql client (--quick, rows as they arrive)"),
                        ("jdbc", f"{int(large_rows):,}-row SELECT via MariaDB Connector/J, fetchSize 10,000")):
        d, x = med(lr[(kind, "direct")]), med(lr[(kind, "countersign")])
        large_ratios.append(ratio(x, d))
        out.append(f"| {label} | {fmt(d, '.1f')} | {fmt(x, '.1f')} | {fmt(ratio(x, d), '.2f')} |")
    mib = lambda k: int(k) / 1024
    out.append(f"\nCountersign's memory around the large results: RSS {mib(rss_before):.0f} MiB before, {mib(rss_after):.0f} MiB after; "
               f"peak RSS (VmHWM) {mib(hwm_before):.0f} MiB before, {mib(hwm_after):.0f} MiB after (JVM with -Xmx512m).")

    def met(values, target):
        vals = [v for v in values if v is not None]
        return "n/a" if not vals else ("yes" if all(v >= target for v in vals) else "no")

    def show(test_threads):
        text = ", ".join(f"{fmt(ratios.get(k), '.2f')} ({k[0].removeprefix('oltp_')})" for k in test_threads if k in ratios)
        if relay_ratios:
            text += "; HAProxy " + ", ".join(fmt(relay_ratios.get(k), '.2f') for k in test_threads if k in ratios)
        return text

    one = [k for k in ratios if k[1] == 1]
    eight = [k for k in ratios if k[1] == 8]
    out.append("\nAgainst the MySQL targets (issue 10), this run:\n")
    out.append("| target | result | met? |")
    out.append("|---|---|---|")
    out.append(f"| 1 thread ≥ 0.90 of direct TPS | {show(one) or 'n/a'} | {met([ratios[k] for k in one], 0.90)} |")
    out.append(f"| 8 threads ≥ 0.60 of direct TPS | {show(eight) or 'n/a'} | {met([ratios[k] for k in eight], 0.60)} |")
    out.append(f"| large results ≥ 0.85 of direct, flat memory | {', '.join(fmt(r, '.2f') for r in large_ratios)} "
               f"(RSS {mib(rss_before):.0f} → {mib(rss_after):.0f} MiB) | {met(large_ratios, 0.85)} |")
    return "\n".join(out)


def mariadb_version():
    v = subprocess.run(["sh", "-c", "mysql -h 127.0.0.1 -u root --protocol=tcp -N -B -e 'SELECT version()' 2>/dev/null"],
                       capture_output=True, text=True).stdout.strip()
    return v or "(version unknown)"


def jmh_section(argv):
    text = open(argv[0]).read()
    return re.sub(r"^# ", "## ", text, flags=re.M)


if __name__ == "__main__":
    args = sys.argv[1:]
    kind = args[0] if args and args[0] in ("pg", "mysql", "jmh") else "pg"
    if args and args[0] == kind:
        args = args[1:]
    body = {"pg": pg_report, "mysql": mysql_report, "jmh": jmh_section}[kind](args)
    splice(kind, body)
