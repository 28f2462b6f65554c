"""Small helpers shared by two apps or more."""
