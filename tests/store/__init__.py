"""Store tests: migrations (issue 9)."""
