#!/usr/bin/env bash
# Runs a built Tessera image the way the README's "Deploying" section does and checks it:
# read-only root file system, a named data volume, the HEALTHCHECK, a client and a token,
# discovery on the published address, a clean stop on SIGTERM, and exit 1 for a bad setting.
#
#   deploy/container-smoke-test.sh [IMAGE]        (default localhost/tessera:dev)
#
# CONTAINER_ENGINE (default podman) and CONTAINER_RUN_ARGS (extra `run` options, e.g. the
# --ulimit values a sandbox needs) adapt it to the machine. Leaves nothing behind.
set -euo pipefail

image=${1:-localhost/tessera:dev}
engine=${CONTAINER_ENGINE:-podman}
read -r -a extra <<<"${CONTAINER_RUN_ARGS:-}"
name=tessera-smoke-$$
volume=tessera-smoke-$$
port=${SMOKE_PORT:-18600}
base=http://127.0.0.1:$port

cleanup() {
  "$engine" rm -f "$name" >/dev/null 2>&1 || true
  "$engine" volume rm -f "$volume" >/dev/null 2>&1 || true
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*" >&2
  "$engine" logs "$name" >&2 2>&1 || true
  exit 1
}

"$engine" volume create "$volume" >/dev/null
"$engine" run -d --name "$name" "${extra[@]}" --read-only \
  -v "$volume:/var/lib/tessera" -p "127.0.0.1:$port:8080" \
  -e TESSERA_ISSUER="$base" "$image" >/dev/null

for _ in $(seq 1 60); do
  curl -fsS "$base/readyz" >/dev/null 2>&1 && break
  sleep 0.5
done
curl -fsS "$base/readyz" | grep -q '"status":"ready"' || fail "/readyz is not ready"
"$engine" healthcheck run "$name" || fail "HEALTHCHECK failed"
echo "ok: ready on a read-only root file system; HEALTHCHECK passes"

out=$("$engine" exec "$name" node /app/packages/server/bin/tessera.cjs clients create --name smoke --scope read --json)
id=$(node -pe 'JSON.parse(process.argv[1]).client_id' "$out")
secret=$(node -pe 'JSON.parse(process.argv[1]).client_secret' "$out")
curl -fsS -u "$id:$secret" -d grant_type=client_credentials "$base/oauth/token" |
  grep -q '"token_type":"Bearer"' || fail "no token"
curl -fsS "$base/.well-known/oauth-authorization-server" |
  grep -q "\"token_endpoint\":\"$base/oauth/token\"" || fail "discovery does not advertise $base"
echo "ok: client created in the volume, token issued, discovery advertises $base"

"$engine" exec "$name" sh -c 'touch /app/probe 2>/dev/null' && fail "the root file system is writable"
[ "$("$engine" exec "$name" id -u)" != 0 ] || fail "runs as root"
echo "ok: non-root, root file system not writable"

"$engine" stop -t 20 "$name" >/dev/null
code=$("$engine" inspect "$name" --format '{{.State.ExitCode}}')
[ "$code" = 0 ] || fail "exit code $code after SIGTERM"
"$engine" logs "$name" 2>&1 | grep -q '"msg":"all workers stopped"' || fail "workers not stopped"
echo "ok: SIGTERM drains and exits 0"

set +e
"$engine" run --rm "${extra[@]}" --read-only -v "$volume:/var/lib/tessera" \
  -e TESSERA_PRESET=no-such-preset "$image" >/dev/null 2>&1
code=$?
set -e
[ "$code" = 1 ] || fail "a bad setting exited $code, not 1"
echo "ok: a bad setting exits 1"
echo "container smoke test passed ($image)"
