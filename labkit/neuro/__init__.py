"""From recordings to circuits."""
