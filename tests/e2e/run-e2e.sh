#!/usr/bin/env bash
# Runs browser end-to-end tests of the demo portal (tests/e2e/portal) inside
# tests/harness/with-cards: tenderkeyd (--dev) on the namespace's port 61263 allowing the
# portal's origin, the portal on port 8088, and headless Chromium driven by playwright-core.
#
#   run-e2e.sh TENDERKEYD ARTIFACT_DIR TEST_FILE...
#
# Screenshots go to ARTIFACT_DIR. Exit status: node's test runner's, or 1 when the daemon or
# the portal does not start.
set -euo pipefail

daemon_bin=$(realpath "${1:?usage: run-e2e.sh TENDERKEYD ARTIFACT_DIR TEST_FILE...}")
artifacts=${2:?artifact dir}
shift 2
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
node_bin=${TK_NODE:-node}
: "${TK_READER_0:?run inside tests/harness/with-cards}"

daemon_port=61263
portal_port=8088
export TK_E2E_PORTAL="http://127.0.0.1:$portal_port"
export TK_E2E_ARTIFACTS="$artifacts"
export TK_E2E_CARD_CTL="$here/../harness/card-ctl"
export TK_CHROMIUM=${TK_CHROMIUM:-/usr/bin/chromium}
mkdir -p "$artifacts"

if [ ! -d "$here/node_modules/playwright-core" ]; then
    echo "run-e2e.sh: playwright-core missing: run 'npm ci' in tests/e2e (scripts/install-deps.sh does)" >&2
    exit 1
fi

work=${TK_HARNESS_DIR:-$(mktemp -d)}
# TK_E2E_EC_9A="INDEX ALGORITHM": that card's 9A gets an EC key before the daemon reads it.
if [ -n "${TK_E2E_EC_9A:-}" ]; then
    # shellcheck disable=SC2086
    "$here/provision-ec-9a.sh" $TK_E2E_EC_9A
fi
ca_args=(--ca "$TK_VCARD_CA_0")
[ -z "${TK_VCARD_CA_1:-}" ] || ca_args+=(--ca "$TK_VCARD_CA_1")
daemon_args=()
# TK_E2E_HICOS="PROFILE:CA ...": GPKI cards as HiCOS tokens (tests/gpki), reached by tenderkeyd
# through the HiCOS test module; the portal trusts their issuing CAs.
if [ -n "${TK_E2E_HICOS:-}" ]; then
    pki=${TK_E2E_GPKI_DIR:?}
    "${TK_E2E_GPKI_SCRIPT:?}" "$pki"
    mkdir -p "$work/softhsm/tokens"
    printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' \
        "$work/softhsm/tokens" >"$work/softhsm/softhsm2.conf"
    export SOFTHSM2_CONF="$work/softhsm/softhsm2.conf"
    for card in $TK_E2E_HICOS; do
        "${TK_E2E_HICOS_TOKEN_SCRIPT:?}" "$pki" "${card%%:*}" "${card#*:}" "${TK_E2E_HICOS_PIN:?}" >/dev/null
        ca_args+=(--ca "$pki/ca-${card#*:}.pem")
    done
    ca_args+=(--ca "$pki/root.pem")
    daemon_args+=(--pkcs11-module "${TK_E2E_HICOS_SHIM:?}")
fi
"$daemon_bin" --dev --port "$daemon_port" --log-level info \
    --allow-origin "$TK_E2E_PORTAL" "${daemon_args[@]}" >"$work/tenderkeyd-e2e.log" 2>&1 &
daemon_pid=$!
"$node_bin" "$here/portal/server.js" --port "$portal_port" "${ca_args[@]}" \
    --daemon-url "ws://127.0.0.1:$daemon_port/" --data "$work/portal" >"$work/portal.log" 2>&1 &
portal_pid=$!

stop() {
    kill -TERM "$portal_pid" "$daemon_pid" 2>/dev/null || true
    wait "$portal_pid" 2>/dev/null || true
    wait "$daemon_pid" 2>/dev/null || true
}
trap stop EXIT

# Both answer HTTP once they listen (tenderkeyd: /health; the portal: its config).
if ! "$node_bin" -e '
const http = require("node:http");
const end = Date.now() + 20000;
const wait = (port, path) => new Promise((resolve, reject) => {
  const attempt = () => {
    const req = http.get({ host: "127.0.0.1", port, path, timeout: 1000 }, (res) => {
      res.resume();
      if (res.statusCode === 200) resolve(); else retry();
    });
    req.on("timeout", () => req.destroy());
    req.on("error", retry);
  };
  const retry = () => (Date.now() > end ? reject(new Error(String(port))) : setTimeout(attempt, 50));
  attempt();
});
Promise.all([wait(+process.argv[1], "/health"), wait(+process.argv[2], "/api/config")])
  .then(() => process.exit(0), () => process.exit(1));
' "$daemon_port" "$portal_port"; then
    echo "run-e2e.sh: tenderkeyd or the portal did not start" >&2
    cat "$work/tenderkeyd-e2e.log" "$work/portal.log" >&2
    exit 1
fi

rc=0
"$node_bin" --test --test-concurrency=1 "$@" || rc=$?
if [ "$rc" -ne 0 ]; then
    echo "---- tenderkeyd log ----" >&2; tail -n 50 "$work/tenderkeyd-e2e.log" >&2
    echo "---- portal log ----" >&2; cat "$work/portal.log" >&2
fi
exit "$rc"
