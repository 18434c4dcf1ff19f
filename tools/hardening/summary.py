"""Prints the campaign's summary table from the results file and ends with `N passed, M failed`; exit 1 on failure."""
import collections
import json
import sys

rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
by_category = collections.OrderedDict()
for row in rows:
    by_category.setdefault(row["category"], []).append(row)
figures = {}
for row in rows:
    for key in ("crashes", "unanswered", "peak_rss_mb", "health_p99_ms", "slowest_s", "slowest_case", "exit_code", "inflight", "sent_mb",
                "exit_code_during_load", "inflight_during_load", "schemathesis_cases", "freed_s"):
        if key in row:
            figures[f"{row['category']}.{key}"] = row[key]

print()
print(f"{'category':<12} {'checks':>6} {'passed':>6} {'failed':>6} {'inputs':>7}  (inputs: requests/connections sent)")
print("-" * 42)
for category, items in by_category.items():
    passed = sum(r["ok"] for r in items)
    print(f"{category:<12} {len(items):>6} {passed:>6} {len(items) - passed:>6} {sum(r.get('inputs', 1) for r in items):>7}")
print("-" * 42)
print("figures:")
for key, value in figures.items():
    print(f"  {key}: {value}")
failed = [r for r in rows if not r["ok"]]
if failed:
    print("failed checks:")
    for r in failed:
        print(f"  {r['category']}/{r['check']}: {r['detail'][:200]}")
passed = len(rows) - len(failed)
print(f"{passed} passed, {len(failed)} failed")
sys.exit(1 if failed or not rows else 0)
