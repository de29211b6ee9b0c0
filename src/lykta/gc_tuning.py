"""The garbage collector, set for a server that holds thousands of open sockets.

CPython's full collection walks every container object in the process. With 20,000 open
sockets that is about a million objects, and 0.2 to 0.5 s during which nothing else runs
(measured with ``lykta bench``'s 5,000 young people and 100 workers, 15,000 idle sockets
before them). With the default thresholds a full collection comes whenever a quarter more
objects have survived the young generations, which under load is every few seconds: such
pauses set the p99 of message delivery.

A server's objects mostly live as long as their socket, and those that die young are
freed by reference counting, not by the collector. So ``lykta serve``:

- freezes what start-up made (modules, mappers, templates): never walked again;
- collects the youngest generation every 10,000 new container objects instead of 700
  (more of them die before they would be promoted), and the oldest only after 100
  collections of the middle one instead of 10.

Full collections become rare; each takes as long as before. In the same benchmark run
there were no full collections, and the middle generation's took 60 to 100 ms (see
docs/performance.md). Cycles that outlive the young generations (a closed socket's, say)
wait longer to be freed.
"""

from __future__ import annotations

import gc

THRESHOLDS = (10_000, 10, 100)


def tune_for_server() -> None:
    """Freeze what exists now and set the thresholds (call once, after start-up)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)
