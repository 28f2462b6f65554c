"""Staffing models arrive with the staffing issue (roster, shifts, assignments)."""
