#!/usr/bin/env bash
# Storefront home req/s with many registered tenants (Postgres), as a ratio to a bare
# poem hello-world handler measured in the same run with the same load tool (wrk).
#
#   tests/bench/storefront.sh [TENANTS]      (default 10000; needs PostgreSQL and wrk)
#
# Creates (or reuses) the database relabel_bench and seeds TENANTS tenants, which also
# prints tenant creation time and the no-op migrate time.
set -euo pipefail
cd "$(dirname "$0")/../.."
TENANTS="${1:-10000}"
DURATION="${BENCH_DURATION:-15s}"
CONNS="${BENCH_CONNECTIONS:-64}"
PG="${BENCH_PG:-postgres://postgres@127.0.0.1:5432}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/relabel-target}"
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install -y wrk"; exit 1; }

cargo build --release --bin relabel -p relabel-platform
cargo build --release -p relabel-tests --example bench_hello --example bench_seed
BIN="$CARGO_TARGET_DIR/release"

psql "$PG/postgres" -qc "CREATE DATABASE relabel_bench" 2>/dev/null || true
export DATABASE_URL="$PG/relabel_bench"
"$BIN/examples/bench_seed" "$TENANTS" 4

RUST_LOG=warn RELABEL_BIND=127.0.0.1:18080 RELABEL_DB_MAX_CONNECTIONS=16 "$BIN/relabel" serve >/tmp/relabel-bench.log 2>&1 &
APP=$!
"$BIN/examples/bench_hello" 127.0.0.1:18081 &
HELLO=$!
trap 'kill $APP $HELLO 2>/dev/null || true' EXIT
for _ in $(seq 1 50); do curl -fs -o /dev/null -H "Host: b0.bench.test" http://127.0.0.1:18080/ && break; sleep 0.2; done

# Warm up both, then measure.
wrk -t2 -c"$CONNS" -d3s http://127.0.0.1:18081/ >/dev/null
# Long enough that every tenant has been resolved and rendered once (steady state).
BENCH_TENANTS="$TENANTS" wrk -t2 -c"$CONNS" -d"${BENCH_WARMUP:-12s}" -s tests/bench/rotate_hosts.lua http://127.0.0.1:18080/ >/dev/null

OUT=$(mktemp -d)
# The baseline runs the same wrk script (it ignores the Host header), so the cost of
# wrk's per-request Lua is in both numbers.
BENCH_TENANTS="$TENANTS" wrk -t2 -c"$CONNS" -d"$DURATION" -s tests/bench/rotate_hosts.lua http://127.0.0.1:18081/ > "$OUT/base.txt"
wrk -t2 -c"$CONNS" -d"$DURATION" http://127.0.0.1:18081/ > "$OUT/base_static.txt"
BENCH_TENANTS="$TENANTS" wrk -t2 -c"$CONNS" -d"$DURATION" -s tests/bench/rotate_hosts.lua http://127.0.0.1:18080/ > "$OUT/store.txt"
wrk -t2 -c"$CONNS" -d"$DURATION" -H "Host: b0.bench.test" http://127.0.0.1:18080/ > "$OUT/one.txt"
cat "$OUT"/*.txt
base=$(awk '/Requests\/sec/ {print $2}' "$OUT/base.txt")
store=$(awk '/Requests\/sec/ {print $2}' "$OUT/store.txt")
one=$(awk '/Requests\/sec/ {print $2}' "$OUT/one.txt")
base_static=$(awk '/Requests\/sec/ {print $2}' "$OUT/base_static.txt")
python3 - "$base" "$store" "$one" "$TENANTS" "$base_static" <<'PY'
import sys
base, store, one, n, static = float(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), sys.argv[4], float(sys.argv[5])
print(f"bare poem hello, rotating Host (Lua):   {base:10.0f} req/s")
print(f"storefront, {n} tenants, rotating Host: {store:10.0f} req/s  ratio {store/base:.2f} (target >= 0.5)")
print(f"bare poem hello, fixed Host:             {static:10.0f} req/s")
print(f"storefront, one host, fixed Host:        {one:10.0f} req/s  ratio {one/static:.2f}")
PY
