# Shared helpers for integration tests. Sourced by them; ctest skips files named lib*.sh.
set -euo pipefail
: "${PBXGATE:?PBXGATE must point at the pbxgate binary}"
: "${PBXGATE_SOURCE_DIR:?}"
PBXGATE_SHARED_DIR=${PBXGATE_SHARED_DIR:-$PBXGATE_SOURCE_DIR/../shared}
failures=0
checks=0

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
