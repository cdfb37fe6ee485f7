"""Fixtures of the reference capability (pytest plugin)."""
