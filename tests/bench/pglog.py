#!/usr/bin/env python3
"""Statements of a billing run per tenant, from PostgreSQL's statement log.

    ALTER SYSTEM SET log_min_duration_statement = 0; SELECT pg_reload_conf();
    bench_billing run 20 100
    ALTER SYSTEM RESET log_min_duration_statement; SELECT pg_reload_conf();
    python3 tests/bench/pglog.py /var/log/postgresql/postgresql-15-main.log 20

Reads the log between the bench's markers ('relabel-bench-run-start' / '-end')
and prints, per statement (parameters folded), how often it ran per tenant and
the time PostgreSQL spent parsing, binding (analysing and planning) and
executing it."""
import re, sys, collections
path = sys.argv[1]; tenants = int(sys.argv[2])
inside = False
rx = re.compile(r'LOG:  duration: ([0-9.]+) ms  (parse|bind|execute|statement)[^:]*: (.*)')
agg = collections.defaultdict(lambda: [0, 0.0, 0.0, 0.0, 0.0])  # count(exec), parse, bind, exec, simple
tot = collections.Counter()
for line in open(path, errors='replace'):
    if 'relabel-bench-run-start' in line: inside = True; agg.clear(); tot.clear(); continue
    if 'relabel-bench-run-end' in line: inside = False; continue
    if not inside: continue
    m = rx.search(line)
    if not m: continue
    d, phase, sql = float(m.group(1)), m.group(2), m.group(3)
    key = re.sub(r'\$\d+', '?', sql)
    key = re.sub(r'(\?, )+\?', '?…', key)
    key = re.sub(r'\((\?…?)\)(, \(\?…?\))+', '(…rows)', key)
    key = key[:150]
    a = agg[key]
    if phase == 'parse': a[1] += d
    elif phase == 'bind': a[2] += d
    elif phase == 'execute': a[0] += 1; a[3] += d
    else: a[0] += 1; a[4] += d
    tot[phase] += d
n = sum(a[0] for a in agg.values())
print(f"statements per tenant: {n/tenants:.1f}; ms per tenant: " + ", ".join(f"{k} {v/tenants:.2f}" for k, v in tot.items()) + f"; total {sum(tot.values())/tenants:.2f}")
rows = sorted(agg.items(), key=lambda kv: -(kv[1][1]+kv[1][2]+kv[1][3]+kv[1][4]))
for k, a in rows[:45]:
    t = a[1]+a[2]+a[3]+a[4]
    print(f"{a[0]/tenants:5.1f}/t {t/tenants:6.3f} ms/t (p {a[1]/tenants:.3f} b {a[2]/tenants:.3f} e {a[3]/tenants:.3f} s {a[4]/tenants:.3f})  {k}")
