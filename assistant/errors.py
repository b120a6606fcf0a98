"""Errors the user can act on. The CLI prints their message on one line and exits with 2;
the window shows them in an error dialog."""
from models.errors import InvalidModelInput, ModelError, ModelFileError


class MoodchordsError(Exception):
    """Base class for errors whose message is meant for the user."""


class InvalidInput(MoodchordsError, ValueError):
    """A value the user gave is not allowed; the message names the value and what is allowed."""


class DeviceUnavailable(MoodchordsError):
    """A microphone, audio output, SoundFont or MIDI port is missing; the message says how to fix it."""


#: Every error class whose message is shown to the user as is (CLI exit code 2, GUI dialog).
USER_ERRORS = (MoodchordsError, ModelError)

__all__ = [
    "MoodchordsError", "InvalidInput", "DeviceUnavailable", "ModelError", "ModelFileError",
    "InvalidModelInput", "USER_ERRORS",
]
