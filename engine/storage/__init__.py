"""The engine's tables, the hot-path Core statements (dataclasses out), engines and sessions."""
