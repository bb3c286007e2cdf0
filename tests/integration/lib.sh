# Shared helpers for integration tests. Sourced by them; ctest skips files named lib*.sh.
set -euo pipefail
: "${PBXGATE:?PBXGATE must point at the pbxgate binary}"
: "${PBXGATE_SOURCE_DIR:?}"
PBXGATE_SHARED_DIR=${PBXGATE_SHARED_DIR:-$PBXGATE_SOURCE_DIR/../shared}
failures=0
checks=0

# skip_or_fail WHY: a test that cannot run here is skipped (exit 77), except under CI=true,
# where it fails: a CI machine that lacks something is never green.
skip_or_fail() {
  if [ "${CI:-}" = "true" ]; then echo "FAIL: $* (CI=true: this test must run)" >&2; exit 1; fi
  echo "SKIP: $*" >&2
  exit 77
}
# require_tools GROUP TOOL...: every TOOL on PATH, else skip_or_fail naming the
# `scripts/install-deps GROUP` that installs it (GROUP "" for the base packages).
require_tools() {
  local group=$1 tool
  shift
  for tool in "$@"; do
    command -v "$tool" >/dev/null || skip_or_fail "$tool missing (scripts/install-deps${group:+ $group} installs it)"
  done
}

pass() { checks=$((checks + 1)); }
fail() { checks=$((checks + 1)); failures=$((failures + 1)); echo "FAIL: $*" >&2; }

# expect_eq WHAT EXPECTED ACTUAL
expect_eq() {
  if [ "$2" == "$3" ]; then pass; else fail "$1: expected '$2', got '$3'"; fi
}
# expect_contains WHAT NEEDLE HAYSTACK
expect_contains() {
  if [[ "$3" == *"$2"* ]]; then pass; else fail "$1: expected to contain '$2', got: $3"; fi
}
# json_get JSON KEY...: prints the value at that key path (python3's json, an independent parser)
json_get() {
  python3 -c 'import json,sys
v=json.loads(sys.argv[1])
for k in sys.argv[2:]: v=v[k] if not isinstance(v,list) else v[int(k)]
print("null" if v is None else (json.dumps(v) if isinstance(v,(dict,list)) else v))' "$@"
}
finish() {
  echo "$((checks - failures)) passed, $failures failed"
  [ "$failures" -eq 0 ]
}
