"""The JACK client environment (JACK_DEFAULT_SERVER, JACK_NO_START_SERVER) is process-wide, and
PortAudio is initialised with it pointing at no server (see assistant.audio): whoever opens a JACK
client (python-rtmidi in assistant.midi_ports) holds JACK_ENVIRONMENT_LOCK meanwhile, so it never
reads the temporary value."""
from __future__ import annotations

import os
import threading
from contextlib import contextmanager

#: Held while the JACK environment is changed, and while a JACK client is opened.
JACK_ENVIRONMENT_LOCK = threading.RLock()
#: A JACK server name nobody runs.
NO_JACK_SERVER = "moodchords-portaudio-without-jack"


@contextmanager
def jack_unreachable():
    """Within: a JACK client opened in this process finds no server (and starts none)."""
    with JACK_ENVIRONMENT_LOCK:
        keys = ("JACK_DEFAULT_SERVER", "JACK_NO_START_SERVER")
        previous = {key: os.environ.get(key) for key in keys}
        os.environ["JACK_DEFAULT_SERVER"] = NO_JACK_SERVER
        os.environ["JACK_NO_START_SERVER"] = "1"  # never start a jackd of that name
        try:
            yield
        finally:
            for key, value in previous.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
