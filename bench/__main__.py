"""``python -m bench``: run the benchmark (see bench/README.md)."""

from __future__ import annotations

if __name__ == "__main__":
    from bench.harness.main import main

    raise SystemExit(main())
