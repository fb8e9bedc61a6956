"""Rule tables, one module per family of primitives."""
