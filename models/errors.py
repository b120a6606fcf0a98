"""Errors raised by the model layer (no dependency on ``assistant``)."""


class ModelError(Exception):
    """Base class for model-layer errors that a user can act on."""


class ModelFileError(ModelError):
    """A weights/config file is missing or corrupt; the message names the file."""


class InvalidModelInput(ModelError, ValueError):
    """An argument is out of range; the message names the value and what is allowed."""


class ModelConfigError(ModelFileError):
    """A model folder's file breaks its schema (models.model_config): the message names the file,
    the field and what is allowed, e.g. "m/config.json: classes[2].major_share: expected a finite
    number 0..1, got 5"."""

    def __init__(self, file, field: str, expected: str, got: str | None = None):
        self.file = str(file)  # the offending file
        self.field = field  # dotted path of the value, e.g. "classes[0].rhythm.durations", or an array name
        self.expected = expected  # what is allowed, in words
        self.got = got  # the value found, short (None when not worth showing)
        super().__init__(f"{file}: {field}: expected {expected}" + (f", got {got}" if got is not None else ""))

    def __reduce__(self):  # pickles (e.g. from a worker process) with its fields, not only the message
        return type(self), (self.file, self.field, self.expected, self.got)
