"""Tooling that is not the product at run time (demo stand-ins)."""
