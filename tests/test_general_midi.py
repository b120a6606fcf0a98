"""General MIDI program names (assistant.general_midi)."""
import pytest

from assistant.errors import InvalidInput
from assistant.general_midi import GM_PROGRAM_NAMES, describe_program


def test_gm_program_names():
    assert len(GM_PROGRAM_NAMES) == 128 and len(set(GM_PROGRAM_NAMES)) == 128
    assert GM_PROGRAM_NAMES[0] == "Acoustic Grand Piano" and GM_PROGRAM_NAMES[48] == "String Ensemble 1"
    assert GM_PROGRAM_NAMES[127] == "Gunshot" and describe_program(19) == "Church Organ"
    with pytest.raises(InvalidInput):
        describe_program(128)
