"""Helpers shared by the test suites: paths, service discovery, subprocess management."""
