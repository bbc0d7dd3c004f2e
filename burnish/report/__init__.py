"""Reports: the report model rendered to JSON and self-contained HTML with plots."""
