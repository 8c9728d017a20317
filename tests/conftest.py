"""Shared pytest setup: every test uses its own store database and output folders."""
