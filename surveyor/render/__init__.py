"""Rendering: the interactive map, the printable map and the report, in Indonesian or English."""
