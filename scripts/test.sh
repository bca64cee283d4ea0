#!/usr/bin/env bash
# The one test command (README, .ci/run). Installs what is missing (npm ci; Debian's
# redis-server), starts a throw-away Redis on a free loopback port, then runs: typecheck,
# lint, the binary build, the unit/integration suite, the store contract suite (memory,
# Redis over TCP, Redis through the Upstash REST shim) and the runtime matrix (compiled
# binary, Deno, workerd). Stops what it started. Exits non-zero on any failure and ends
# with one line: "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
LOG_DIR=$(mktemp -d)
# Every temporary file of the run (tests, peers, builds) goes under one directory removed at the
# end; 1777 as /tmp, since some tests run a process as another user there.
TEST_TMP=$(mktemp -d /tmp/alertagent-tests.XXXXXX)
chmod 1777 "$TEST_TMP"
export TMPDIR="$TEST_TMP"
PASSED=0
FAILED=0
STEP_FAILS=()

say() { printf '\n==> %s\n' "$*"; }

# --- install what is missing ------------------------------------------------------------
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "npm ci"
  npm ci --no-audit --no-fund || { echo "npm ci failed"; exit 1; }
fi
export PATH="$ROOT/node_modules/.bin:$PATH"

apt_install() {
  command -v apt-get >/dev/null 2>&1 || return 1
  if [ -z "${APT_UPDATED:-}" ]; then apt-get update -qq >/dev/null 2>&1 || true; APT_UPDATED=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null 2>&1
}
if ! command -v redis-server >/dev/null 2>&1; then
  say "installing redis-server (Debian)"
  apt_install redis-server || echo "could not install redis-server: the Redis suites will fail (apt-get install redis-server)"
fi

# The real peers of config sync (Prometheus, Alertmanager, vmalert from victoria-metrics).
if ! command -v promtool >/dev/null 2>&1 || ! command -v amtool >/dev/null 2>&1 || ! command -v vmalert >/dev/null 2>&1; then
  say "installing prometheus, prometheus-alertmanager, victoria-metrics (Debian)"
  apt_install prometheus prometheus-alertmanager victoria-metrics ||
    echo "could not install them: the config-sync peer suites will fail (apt-get install prometheus prometheus-alertmanager victoria-metrics)"
fi

# nginx in front of a webhook receiver, with a body limit (its 413).
if ! command -v nginx >/dev/null 2>&1 && [ ! -x /usr/sbin/nginx ]; then
  say "installing nginx-light (Debian)"
  apt_install nginx-light || echo "could not install nginx-light: the webhook-behind-nginx test will fail (apt-get install nginx-light)"
fi

# Headless Chromium for the dashboard test.
if ! command -v chromium >/dev/null 2>&1; then
  say "installing chromium (Debian)"
  apt_install chromium || echo "could not install chromium: the dashboard browser test will fail (apt-get install chromium)"
fi

free_port() { node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }

# --- services ---------------------------------------------------------------------------
PIDS=()
cleanup() {
  for pid in "${PIDS[@]:-}"; do [ -n "$pid" ] && kill "$pid" 2>/dev/null; done
  [ -n "${REDIS_PORT:-}" ] && redis-cli -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1
  rm -rf "$LOG_DIR" "$TEST_TMP"
}
trap cleanup EXIT INT TERM

if command -v redis-server >/dev/null 2>&1; then
  REDIS_PORT=$(free_port)
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no --daemonize yes \
    --logfile "$LOG_DIR/redis.log" --pidfile "$LOG_DIR/redis.pid" >/dev/null
  for _ in $(seq 1 50); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
  export REDIS_URL="redis://127.0.0.1:$REDIS_PORT"
  echo "redis-server on $REDIS_URL"
fi

# --- steps ------------------------------------------------------------------------------
step() { # step NAME COMMAND... — a check that is not a test runner counts as one test
  local name=$1; shift
  say "$name"
  if "$@"; then PASSED=$((PASSED + 1)); else FAILED=$((FAILED + 1)); STEP_FAILS+=("$name"); fi
}

bun_suite() { # bun_suite NAME PATHS... — adds bun test's own pass/fail counts
  local name=$1; shift
  say "$name"
  local out="$LOG_DIR/$name.log"
  bun test --timeout 60000 "$@" 2>&1 | tee "$out"
  local rc=${PIPESTATUS[0]}
  local p f
  p=$(grep -Eo '^ *[0-9]+ pass' "$out" | tail -1 | grep -Eo '[0-9]+' || echo 0)
  f=$(grep -Eo '^ *[0-9]+ fail' "$out" | tail -1 | grep -Eo '[0-9]+' || echo 0)
  PASSED=$((PASSED + p)); FAILED=$((FAILED + f))
  if [ "$rc" -ne 0 ] || [ "$p" -eq 0 ]; then
    [ "$f" -eq 0 ] && FAILED=$((FAILED + 1))
    STEP_FAILS+=("$name")
  fi
}

step typecheck tsc --noEmit -p tsconfig.json
step lint biome check --diagnostic-level=error .
step build bash scripts/build
# Every suite under test/ but the store contract and the runtime matrix (which run on their own).
mapfile -t UNIT < <(find test -mindepth 1 -maxdepth 1 \( -type d ! -name store ! -name e2e ! -name support ! -name fixtures -o -name '*.test.ts' \) | sort)
bun_suite unit "${UNIT[@]}"
bun_suite store test/store
bun_suite runtimes test/e2e

echo
if [ ${#STEP_FAILS[@]} -gt 0 ]; then echo "failed: ${STEP_FAILS[*]}"; fi
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ] && [ ${#STEP_FAILS[@]} -eq 0 ]
