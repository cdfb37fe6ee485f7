"""Fixtures of the thirdparty capability (pytest plugin)."""
