#!/usr/bin/env bash
# Fuzzes the JSON API against its own OpenAPI document with schemathesis (every check, every
# phase: examples, coverage, fuzzing, and the stateful create -> read -> update -> delete
# chains the document's links describe). Passes only when schemathesis finds nothing.
#
#   bash tests/schemathesis/run.sh            # 50 examples per operation, a fixed seed
#   MAX_EXAMPLES=200 SEED=1 bash tests/schemathesis/run.sh
#
# Installs schemathesis from PyPI into a virtual environment (target/schemathesis-venv) the
# first time; starts the debug binary on a fresh data directory and a free loopback port, with
# an admin API key, and stops it when done.
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
here="$repo/tests/schemathesis"
venv="${SCHEMATHESIS_VENV:-$repo/target/schemathesis-venv}"

if [ ! -x "$venv/bin/schemathesis" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/requirements.txt"
fi
(cd "$repo" && cargo build --quiet)
binary="$repo/target/debug/aethenox-webhooks"

work="$(mktemp -d)"
server=""
cleanup() {
    [ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

key="$("$binary" api-keys create --name schemathesis --data-dir "$work/data")"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
base="http://127.0.0.1:$port"
# Loopback targets allowed: the hooks point generated webhooks at 127.0.0.1 (see hooks.py).
"$binary" --bind "127.0.0.1:$port" --data-dir "$work/data" --allow-private-targets \
    >"$work/server.log" 2>&1 &
server=$!
deadline=$((SECONDS + 30))
until curl -sf "$base/healthz" >/dev/null; do
    if [ "$SECONDS" -ge "$deadline" ] || ! kill -0 "$server" 2>/dev/null; then
        echo "the server did not start:" >&2
        cat "$work/server.log" >&2
        exit 1
    fi
    sleep 0.1
done

# Run from the scratch directory, so schemathesis's own files stay out of the repository.
# Every check but one: a webhook has two paths by design (/api/v1/webhooks/{id} and
# /api/v1/workspaces/{workspace}/webhooks/{id}), and the stateful phase takes them for two
# resources, so one deleted through the other reads as "created resource not found" (seen once
# in CI). That a created webhook is found again is tested in tests/it (api.rs, workspaces.rs).
cd "$work"
PYTHONPATH="$here" SCHEMATHESIS_HOOKS=hooks "$venv/bin/schemathesis" run "$base/api/v1/openapi.json" \
    --checks all \
    --exclude-checks ensure_resource_availability \
    --max-examples "${MAX_EXAMPLES:-50}" \
    --seed "${SEED:-20261129}" \
    --generation-database none \
    --header "Authorization: Bearer $key" \
    --no-color
