"""Errors raised by the model layer (no dependency on ``assistant``)."""


class ModelError(Exception):
    """Base class for model-layer errors that a user can act on."""


class ModelFileError(ModelError):
    """A weights/config file is missing or corrupt; the message names the file."""


class InvalidModelInput(ModelError, ValueError):
    """An argument is out of range; the message names the value and what is allowed."""
