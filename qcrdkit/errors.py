"""Errors the kit raises for bad input. Each names the file, line or parameter at fault."""


class QcrdError(Exception):
    """Base class of the kit's own errors."""


class DataFormatError(QcrdError, ValueError):
    """A data file has a malformed record. The message starts with ``path:line:``."""

    def __init__(self, path, line: int | None, message: str):
        self.path, self.line = str(path), line
        where = f"{path}:{line}" if line is not None else str(path)
        super().__init__(f"{where}: {message}")


class ConfigError(QcrdError, ValueError):
    """A parameter has a bad value. The message names the parameter."""
