"""The pure domain both the gateway and the cloud run.

Nothing here performs I/O, starts an event loop, touches a database or reads the clock: time is
always passed in. ``tests/unit/test_shared_is_pure.py`` enforces it.
"""
