"""Issue-log models arrive with the issue-log issue."""
