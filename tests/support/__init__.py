"""Helpers of the test suite: constants, factories, fakes and process tools (no fixtures).

The fixtures themselves live in `tests/conftest.py` (and a folder's own conftest.py).
"""
