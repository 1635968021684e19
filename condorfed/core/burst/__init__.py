"""burst."""
