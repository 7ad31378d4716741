"""Exceptions with one clear line of explanation.

The CLI prints ``str(error)`` of any :class:`PixelCNNError` as a single line and
exits with status 2; nothing already saved is touched.
"""


class PixelCNNError(Exception):
    """Base class for errors the user can fix (bad input, missing files)."""


class ConfigError(PixelCNNError, ValueError):
    """A configuration value is unknown, of the wrong type or out of range."""


class DataError(PixelCNNError):
    """A data set is missing, corrupt or of an unexpected shape."""


class CheckpointError(PixelCNNError):
    """A checkpoint is missing, corrupt, or belongs to another model or version."""
