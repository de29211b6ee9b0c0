"""Fail when a JUnit report shows skipped tests, no tests, no browser tests, or (with
``--require services``) no multi-node and Redis tests."""

from __future__ import annotations

import argparse
import sys
import xml.etree.ElementTree as ET

parser = argparse.ArgumentParser()
parser.add_argument("report")
parser.add_argument("--require", default=None, help="services: the multi-node tests must run")
args = parser.parse_args()

root = ET.parse(args.report).getroot()  # noqa: S314 - our own pytest's report
suites = [root] if root.tag == "testsuite" else list(root)
total = sum(int(s.get("tests", 0)) for s in suites)
skipped = sum(int(s.get("skipped", 0)) for s in suites)
cases = list(root.iter("testcase"))
e2e = sum(1 for case in cases if ".e2e." in case.get("classname", ""))
print(f"{args.report}: {total} tests, {e2e} in the browser, {skipped} skipped")
if total == 0 or e2e == 0:
    sys.exit("CI: no tests (or no browser tests) ran")
if args.require:
    wanted = ("test_multinode", "test_redis_broker")
    ran = sum(1 for case in cases if any(w in case.get("classname", "") for w in wanted))
    print(f"  {ran} multi-node and Redis tests")
    if ran == 0:
        sys.exit("CI: the multi-node and Redis tests did not run")
if skipped:
    for case in cases:
        if case.find("skipped") is not None:
            print("skipped:", case.get("classname"), case.get("name"), file=sys.stderr)
    sys.exit("CI: tests were skipped; every part must run here")
