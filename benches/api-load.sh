#!/usr/bin/env bash
# Load test of the HTTP API (not run in CI): `GET /api/numbers?limit=100` against 100,000
# entries, with Debian's `wrk` on loopback. Goal: >= 5,000 requests/s with p99 <= 20 ms.
#
#   benches/api-load.sh [DURATION_S] [CONNECTIONS] [THREADS]
#
# Builds the release binary, prepares a data dir with the CLI, starts `numinv serve` on a
# free loopback port, creates a read token and runs wrk with --latency.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION_S=${1:-20}
CONNECTIONS=${2:-32}
THREADS=${3:-2}
ENTRIES=100000

command -v wrk >/dev/null || { apt-get update && apt-get install -y wrk; }
cargo build --release --bin numinv
BIN=target/release/numinv
OUT=target/api-load
rm -rf "$OUT"
mkdir -p "$OUT"
DATA="$OUT/data"
unset NUMINV_SERVER NUMINV_TOKEN NUMINV_DATA_DIR

"$BIN" --data-dir "$DATA" numbers add --range +442070000000..+442070099999 \
    --hierarchy Provider/Contoso/London >/dev/null
TOKEN=$("$BIN" --data-dir "$DATA" tokens create load --role read | head -n 1)
echo "prepared $ENTRIES entries in $DATA"

exec 3< <(exec "$BIN" --data-dir "$DATA" serve --listen 127.0.0.1:0 2>&1 >/dev/null)
SERVE_PID=$!
trap 'kill -TERM "$SERVE_PID" 2>/dev/null || true; wait "$SERVE_PID" 2>/dev/null || true' EXIT
IFS= read -r -t 60 line <&3
URL=$(printf '%s\n' "$line" | grep -o 'http://127\.0\.0\.1:[0-9]*' | head -n 1)
echo "numinv serve at $URL"

# One request first, so a broken setup fails loudly instead of measuring 401s.
curl -fsS -o /dev/null -H "Authorization: Bearer $TOKEN" "$URL/api/numbers?limit=100"

wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION_S}s" --latency \
    -H "Authorization: Bearer $TOKEN" "$URL/api/numbers?limit=100"
