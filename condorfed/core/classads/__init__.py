"""classads."""
