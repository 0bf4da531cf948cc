"""Benchmarks of gridlink: the engine, the HTTP service and the big screen (``gridlink bench``).

Not part of the installed packages: they run from a checkout, where this folder sits beside
``engine``, ``workflows`` and ``web``.
"""
