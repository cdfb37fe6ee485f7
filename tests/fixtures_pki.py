"""Fixtures of the pki capability (pytest plugin)."""
