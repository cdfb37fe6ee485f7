"""Fixtures of the fse capability (pytest plugin)."""
