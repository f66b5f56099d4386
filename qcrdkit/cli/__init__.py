"""The command line (``qcrd``) and what it drives: the pipeline of notebooks, the preflight, the projection,
the parameter reference."""
from qcrdkit.cli.commands import main

__all__ = ["main"]
