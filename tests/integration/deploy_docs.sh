#!/usr/bin/env bash
# The documentation an admin installs is complete: pbxgate(8) has a section for every
# subcommand `pbxgate --help` lists and an entry for every [engine] key the shipped policy
# documents, and it renders without warnings; the README's Deploying section names every
# file the package installs. No privileges needed.
source "$(dirname "$0")/lib.sh"
man=$PBXGATE_SOURCE_DIR/packaging/pbxgate.8
readme=$PBXGATE_SOURCE_DIR/README.md

commands=$("$PBXGATE" --help | sed -n '/^Subcommands:/,$p' | awk 'NR > 1 && NF {print $1}')
[ -n "$commands" ] || fail "no subcommands in pbxgate --help"
for c in $commands; do
  grep -qE "^\.SS $c( |$)" "$man" && pass || fail "pbxgate(8) has no .SS section for '$c'"
done
keys=$(sed -n '/^\[engine\]/,/^$/p' "$PBXGATE_SOURCE_DIR/policies/freepbx.toml" | sed -n 's/^# \([a-z_]*\) = .*/\1/p')
[ "$(wc -w <<<"$keys")" -ge 10 ] && pass || fail "found too few [engine] keys in policies/freepbx.toml: $keys"
for k in $keys; do
  grep -qxF ".B $k" "$man" && pass || fail "pbxgate(8) does not document engine key '$k'"
done
for k in proto ports allow enabled description offload lan trusted blocked extends; do
  grep -qxF ".B $k" "$man" && pass || fail "pbxgate(8) does not document policy key '$k'"
done
if command -v groff >/dev/null; then
  warnings=$(groff -man -Tutf8 -ww "$man" 2>&1 >/dev/null)
  expect_eq "groff warnings for pbxgate(8)" "" "$warnings"
fi

deploying=$(sed -n '/^## Deploying/,/^## [^D]/p' "$readme")
[ -n "$deploying" ] && pass || fail "README has no '## Deploying' section"
for f in /usr/sbin/pbxgate /usr/sbin/pbxgate-rules /etc/pbxgate/pbxgate.toml pbxgate.service pbxgate-rules \
         "pbxgate stats" "systemctl reload pbxgate" "placement = \"router\"" /metrics; do
  expect_contains "README Deploying mentions $f" "$f" "$deploying"
done
finish
