#!/usr/bin/env python3
"""Checks Grafana dashboards against what a running engine exports.

  dashboard_check.py SCRAPE_FILE DASHBOARD.json...

Every PromQL query of every dashboard (panel targets, rows' nested panels, templating
queries) is reduced to the metric names it reads; each must be a family of the scrape (a
`# TYPE` line or a sample), where NAME_bucket / NAME_sum / NAME_count also match NAME.
Prints each dashboard's names and exits 1 naming every one the engine does not export.

Extending: add panels to the JSON; nothing here changes. A metric exported only when a
feature is configured (e.g. [crowdsec]) needs that feature in the test's policy
(tests/integration/dashboard_metrics.sh), so the scrape holds it.
"""
import json
import re
import sys

# PromQL words that are not metric names: aggregation and binary-operator keywords,
# modifiers (functions are recognised by the parenthesis that follows them).
KEYWORDS = {
    "by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or", "unless",
    "offset", "inf", "nan", "start", "end",
}
IDENT = re.compile(r"[A-Za-z_:][A-Za-z0-9_:]*")


def queries(node):
    """Every PromQL string of a dashboard: targets' expr, templating query definitions."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "expr" and isinstance(value, str):
                yield value
            elif key == "templating":
                for var in value.get("list", []):
                    if var.get("type") == "query":
                        q = var.get("query")
                        yield q.get("query", "") if isinstance(q, dict) else (q or "")
            else:
                yield from queries(value)
    elif isinstance(node, list):
        for item in node:
            yield from queries(item)


def metric_names(expr):
    e = re.sub(r'"(?:\\.|[^"\\])*"', '""', expr)        # string literals (label values, regexes)
    e = re.sub(r"\$\{[^}]*\}|\$[A-Za-z_]\w*", "", e)     # Grafana variables
    e = re.sub(r"\{[^}]*\}", "", e)                      # label matchers
    e = re.sub(r"\[[^\]]*\]", "", e)                     # ranges and subqueries
    e = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", e)  # label lists
    e = re.sub(r"label_values\s*\(\s*([A-Za-z_:][A-Za-z0-9_:]*)\s*,[^)]*\)", r"\1", e)  # Grafana's
    names = set()
    for m in IDENT.finditer(e):
        word = m.group(0)
        before = e[m.start() - 1] if m.start() > 0 else ""
        if before.isdigit() or before == ".":
            continue                                     # 5m, 1e3, 0.5
        rest = e[m.end():].lstrip()
        if rest.startswith("("):
            continue                                     # a function or aggregation
        if word.lower() in KEYWORDS:
            continue
        names.add(word)
    return names


def exported(scrape_text):
    names = set()
    for line in scrape_text.splitlines():
        if line.startswith("# TYPE ") or line.startswith("# HELP "):
            names.add(line.split()[2])
        elif line and not line.startswith("#"):
            names.add(IDENT.match(line).group(0))
    return names


def known(name, names):
    if name in names:
        return True
    for suffix in ("_bucket", "_sum", "_count"):
        if name.endswith(suffix) and name[: -len(suffix)] in names:
            return True
    return False


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    names = exported(open(sys.argv[1]).read())
    missing = []
    for path in sys.argv[2:]:
        dash = json.load(open(path))
        used = set()
        count = 0
        for q in queries(dash):
            count += 1
            used |= metric_names(q)
        print("%s: %d queries read %d metrics: %s" % (path, count, len(used), " ".join(sorted(used))))
        if count == 0:
            missing.append("%s: no queries found" % path)
        missing += ["%s: %s is not exported by the engine" % (path, n) for n in sorted(used) if not known(n, names)]
    for m in missing:
        print("FAIL: " + m, file=sys.stderr)
    sys.exit(1 if missing else 0)


if __name__ == "__main__":
    main()
