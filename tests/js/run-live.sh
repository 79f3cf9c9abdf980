#!/usr/bin/env bash
# Runs the live tests of the JavaScript client (protocol/js/test-live/) against a real
# tenderkeyd. Meant to run inside tests/harness/with-cards, which provides the pcscd, the
# virtual card and the TK_* variables; the daemon is started here, in the same namespaces.
#
#   run-live.sh TENDERKEYD [PORT]
#
# Exit status: node's test runner's, or 1 when the daemon does not start or does not stop
# cleanly (exit code other than 0 on SIGTERM).
set -euo pipefail

daemon_bin=$(realpath "${1:?usage: run-live.sh TENDERKEYD [PORT]}")
port=${2:-61262}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
js_dir=$(cd "$here/../../protocol/js" && pwd)
node_bin=${TK_NODE:-node}

: "${TK_READER_0:?run inside tests/harness/with-cards}"

export TK_LIVE_URL="ws://127.0.0.1:$port/"
export TK_LIVE_ORIGIN="https://portal.example.gov.tw"
export TK_LIVE_ORIGIN_LIMITED="https://viewer.example.gov.tw"
export TK_LIVE_DAEMON="$daemon_bin"

log="${TK_HARNESS_DIR:-/tmp}/tenderkeyd-js-live.log"
"$daemon_bin" --dev --port "$port" --log-level info \
    --allow-origin "$TK_LIVE_ORIGIN=read,sign,decrypt,register,manage" \
    --allow-origin "$TK_LIVE_ORIGIN_LIMITED=read,sign" >"$log" 2>&1 &
daemon_pid=$!

stop_daemon() {
    if kill -0 "$daemon_pid" 2>/dev/null; then
        kill -TERM "$daemon_pid"
    fi
    local rc=0
    wait "$daemon_pid" || rc=$?
    return "$rc"
}

# Waits for GET /health with node (curl may be missing); gives up after 20 s.
if ! "$node_bin" -e '
const http = require("node:http");
const port = Number(process.argv[1]);
const end = Date.now() + 20000;
const attempt = () => {
  const req = http.get({ host: "127.0.0.1", port, path: "/health", timeout: 1000 }, (res) => {
    res.resume();
    if (res.statusCode === 200) process.exit(0);
    retry();
  });
  req.on("timeout", () => req.destroy());
  req.on("error", retry);
};
const retry = () => (Date.now() > end ? process.exit(1) : setTimeout(attempt, 50));
attempt();
' "$port"; then
    echo "run-live.sh: tenderkeyd did not answer /health on port $port" >&2
    stop_daemon || true
    cat "$log" >&2
    exit 1
fi

rc=0
( cd "$js_dir" && "$node_bin" --test --test-concurrency=1 test-live/*.test.js ) || rc=$?

daemon_rc=0
stop_daemon || daemon_rc=$?
if [ "$daemon_rc" -ne 0 ]; then
    echo "run-live.sh: tenderkeyd exited with $daemon_rc" >&2
    cat "$log" >&2
    [ "$rc" -ne 0 ] || rc=1
elif [ "$rc" -ne 0 ]; then
    cat "$log" >&2
fi
exit "$rc"
