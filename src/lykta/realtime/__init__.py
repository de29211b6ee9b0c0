"""Real-time delivery: typed frames, the broker, the per-node socket hub."""
