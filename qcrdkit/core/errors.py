"""Errors the kit raises for bad input. Each names the file, line or parameter at fault."""


class QcrdError(Exception):
    """Base class of the kit's own errors."""


class DataFormatError(QcrdError, ValueError):
    """A data file has a malformed record. The message starts with ``path:line:``."""

    def __init__(self, path, line: int | None, message: str):
        self.path, self.line = str(path), line
        where = f"{path}:{line}" if line is not None else str(path)
        super().__init__(f"{where}: {message}")


class WriteError(QcrdError, OSError):
    """A file could not be written (a read-only folder, a full disk). The message names the file; the file as it
    was before is left in place (writes go through a temporary file and a rename)."""


class ConfigError(QcrdError, ValueError):
    """A parameter has a bad value. The message names the parameter."""


def model_load_error(what: str, name: str, exc: Exception, offline_choices: str) -> ConfigError:
    """The error for a model or tokenizer that ``from_pretrained`` could not load (hub name or path)."""
    return ConfigError(f"{what} {name!r} could not be loaded ({exc.__class__.__name__}: {str(exc).splitlines()[0]}). "
                       f"Offline (HF_HUB_OFFLINE=1) only local folders, cached models and {offline_choices} load.")


class DataLeakError(QcrdError, ValueError):
    """Test questions would reach training (an imported dump overlaps the test split)."""
