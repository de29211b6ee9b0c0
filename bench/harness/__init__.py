"""The benchmark harness: servers under test, load-generator processes, scenarios, report."""
