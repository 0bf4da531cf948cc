"""Running instances: the runtime, state snapshot and compaction, timer arithmetic."""
