"""Mathematical documents of exactsnn and their SymPy / mpmath checks (run with pytest)."""
