"""fairshare."""
