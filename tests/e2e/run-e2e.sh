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
portal_scheme=http
portal_args=()
work=${TK_HARNESS_DIR:-$(mktemp -d)}
# TK_E2E_PUBLIC_TLS=1: the portal is served as a site on the public web would be: https (a
# self-signed certificate for 127.0.0.1, trusted by the test's node through
# NODE_EXTRA_CA_CERTS; Chromium is told to ignore certificate errors), in bridge mode, and
# Chromium counts its address as public (support.js).
if [ "${TK_E2E_PUBLIC_TLS:-}" = 1 ]; then
    portal_port=8443
    portal_scheme=https
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=127.0.0.1" \
        -addext "subjectAltName=IP:127.0.0.1" -addext "basicConstraints=critical,CA:TRUE" \
        -keyout "$work/portal-key.pem" -out "$work/portal-cert.pem" 2>/dev/null
    portal_args=(--tls-cert "$work/portal-cert.pem" --tls-key "$work/portal-key.pem" --mode bridge)
    export NODE_EXTRA_CA_CERTS="$work/portal-cert.pem"
fi
export TK_E2E_PORTAL="$portal_scheme://127.0.0.1:$portal_port"
export TK_E2E_DAEMON_LOG="$work/tenderkeyd-e2e.log"
export TK_E2E_ARTIFACTS="$artifacts"
export TK_E2E_CARD_CTL="$here/../harness/card-ctl"
export TK_CHROMIUM=${TK_CHROMIUM:-/usr/bin/chromium}
mkdir -p "$artifacts"

if [ ! -d "$here/node_modules/playwright-core" ]; then
    echo "run-e2e.sh: playwright-core missing: run 'npm ci' in tests/e2e (scripts/install-deps.sh does)" >&2
    exit 1
fi

# TK_E2E_EC_9A="INDEX ALGORITHM": that card's 9A gets an EC key before the daemon reads it.
if [ -n "${TK_E2E_EC_9A:-}" ]; then
    # shellcheck disable=SC2086
    "$here/provision-ec-9a.sh" $TK_E2E_EC_9A
fi
# TK_E2E_PAGE_PINS=0: the daemon's configuration refuses PINs typed into pages.
config_args=()
# TK_E2E_PORTAL_CAPS: the portal's capabilities (default: the daemon's default set).
allow_args=(--allow-origin "$TK_E2E_PORTAL${TK_E2E_PORTAL_CAPS:+=$TK_E2E_PORTAL_CAPS}")
# The configuration file, always written: the state directory is the test's own.
export TK_E2E_CONFIG="$work/tenderkeyd.toml"
# $STATE_DIRECTORY (the harness sets it, as systemd does) wins over the file's state_directory.
export TK_E2E_STATE_DIR="${STATE_DIRECTORY:-$work/state}"
export TK_E2E_CLI
TK_E2E_CLI="$(dirname "$daemon_bin")/tenderkey"
printf 'state_directory = "%s"\n' "$TK_E2E_STATE_DIR" >"$TK_E2E_CONFIG"
config_args=(--config "$TK_E2E_CONFIG")
if [ "${TK_E2E_PAGE_PINS:-}" = 0 ]; then
    printf '[pin]\npage_supplied = false\n' >>"$TK_E2E_CONFIG"
fi
# TK_E2E_HIPKI=1: the HiPKI dialect's listener on 61161 (the namespace's own).
if [ "${TK_E2E_HIPKI:-}" = 1 ]; then
    printf '[hipki]\nenabled = true\n' >>"$TK_E2E_CONFIG"
fi
# TK_E2E_CONSENT: the portal is left out of the allow-list, so only the user's consent in the
# bridge window can admit it (on), or it is on the deny list (deny), or consent is off (off).
case "${TK_E2E_CONSENT:-}" in
    on) allow_args=() ;;
    deny) allow_args=(); printf '[consent]\ndeny = ["%s"]\n' "$TK_E2E_PORTAL" >>"$TK_E2E_CONFIG" ;;
    off) allow_args=(); printf '[consent]\nenabled = false\n' >>"$TK_E2E_CONFIG" ;;
esac
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
"$daemon_bin" "${config_args[@]}" --dev --port "$daemon_port" --log-level info \
    "${allow_args[@]}" "${daemon_args[@]}" >"$work/tenderkeyd-e2e.log" 2>&1 &
daemon_pid=$!
"$node_bin" "$here/portal/server.js" --port "$portal_port" "${ca_args[@]}" \
    --daemon-url "ws://127.0.0.1:$daemon_port/" --data "$work/portal" "${portal_args[@]}" \
    >"$work/portal.log" 2>&1 &
portal_pid=$!

stop() {
    kill -TERM "$portal_pid" "$daemon_pid" 2>/dev/null || true
    wait "$portal_pid" 2>/dev/null || true
    wait "$daemon_pid" 2>/dev/null || true
}
trap stop EXIT

# Both answer HTTP once they listen (tenderkeyd: /health; the portal: its config).
if ! "$node_bin" -e '
const http = require(process.argv[3] === "https" ? "node:https" : "node:http");
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
const plain = require("node:http");
const waitPlain = (port, path) => new Promise((resolve, reject) => {
  const attempt = () => {
    const req = plain.get({ host: "127.0.0.1", port, path, timeout: 1000 }, (res) => {
      res.resume();
      if (res.statusCode === 200) resolve(); else retry();
    });
    req.on("timeout", () => req.destroy());
    req.on("error", retry);
  };
  const retry = () => (Date.now() > end ? reject(new Error(String(port))) : setTimeout(attempt, 50));
  attempt();
});
Promise.all([waitPlain(+process.argv[1], "/health"), wait(+process.argv[2], "/api/config")])
  .then(() => process.exit(0), () => process.exit(1));
' "$daemon_port" "$portal_port" "$portal_scheme"; then
    echo "run-e2e.sh: tenderkeyd or the portal did not start" >&2
    cat "$work/tenderkeyd-e2e.log" "$work/portal.log" >&2
    exit 1
fi

rc=0
# TK_E2E_TEST_PATTERN: run only the tests whose name matches (node --test-name-pattern).
pattern_args=()
[ -z "${TK_E2E_TEST_PATTERN:-}" ] || pattern_args=(--test-name-pattern "$TK_E2E_TEST_PATTERN")
"$node_bin" --test --test-concurrency=1 "${pattern_args[@]}" "$@" || rc=$?
if [ "$rc" -ne 0 ]; then
    echo "---- tenderkeyd log ----" >&2; tail -n 50 "$work/tenderkeyd-e2e.log" >&2
    echo "---- portal log ----" >&2; cat "$work/portal.log" >&2
fi
exit "$rc"
