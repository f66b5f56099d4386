"""qcrdkit."""
