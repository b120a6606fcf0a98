"""General MIDI program names (assistant.general_midi)."""
import pytest

from assistant.errors import InvalidInput
from assistant.general_midi import GM_PROGRAM_NAMES, describe_instrument, describe_program, gm_number, parse_instrument


def test_gm_program_names():
    assert len(GM_PROGRAM_NAMES) == 128 and len(set(GM_PROGRAM_NAMES)) == 128
    assert GM_PROGRAM_NAMES[0] == "Acoustic Grand Piano" and GM_PROGRAM_NAMES[48] == "String Ensemble 1"
    assert GM_PROGRAM_NAMES[127] == "Gunshot" and describe_program(19) == "Church Organ"
    with pytest.raises(InvalidInput):
        describe_program(128)


def test_users_see_gm_numbers_1_to_128():
    assert gm_number(0) == 1 and gm_number(127) == 128 and describe_instrument(48) == "49 String Ensemble 1"
    with pytest.raises(InvalidInput):
        gm_number(128)


@pytest.mark.parametrize("text, program", [
    ("1", 0), ("128", 127), ("49", 48), ("strings", 48), ("acoustic grand piano", 0), ("ACOUSTIC GRAND PIANO", 0),
    ("Acoustic Guitar (nylon)", 24), ("acoustic guitar nylon", 24), ("nylon", 24), ("church", 19),
    ("piano", 0), ("sax", 65), ("gunshot", 127), ("harpsi", 6)])
def test_parse_instrument(text, program):
    assert parse_instrument(text) == program


@pytest.mark.parametrize("text, words", [
    ("0", ["1..128"]), ("129", ["1..128"]), ("-3", ["1..128"]), ("", ["allowed"]),
    ("bass", ["ambiguous", "33 Acoustic Bass", "36 Fretless Bass"]), ("lead", ["ambiguous"]),
    ("stings", ["unknown", "strings"]), ("vilin", ["unknown", "Violin"]), ("zzqx", ["unknown", "allowed"])])
def test_parse_instrument_refuses_with_close_matches(text, words):
    with pytest.raises(InvalidInput) as caught:
        parse_instrument(text)
    assert all(w in str(caught.value) for w in words) and "\n" not in str(caught.value)

