"""Professionals, login sessions, API tokens."""
