"""Request text at the boundary: every way a request enters (the CLI's TEXT, the window's text
field through the pipeline, a speech transcript) goes through ``normalize_request`` first, so the
readers behind it only ever see well-formed, bounded Unicode.

Why each step:
  * unpaired surrogates (what Python makes of invalid UTF-8 in argv, or of a broken paste) cannot
    be encoded, and the tokenizer, SQLite and stdout all fail on them: each becomes U+FFFD;
  * control characters (NUL, escape sequences, C1 controls) become a space, invisible format
    characters (zero-width space, soft hyphen, bidi overrides) are dropped, so neither glues or
    hides words;
  * NFKC folds compatibility forms ("ﬁ", full-width "１２０ ｂｐｍ", "Ⅸ") to what the parsers read;
  * length is capped: nothing a person types or says is longer, and the cap bounds every later
    stage's time and memory."""
from __future__ import annotations

import re
import unicodedata

from assistant.errors import InvalidInput

#: Longest request accepted, in characters (after normalisation). A spoken request of 30 s is
#: ~500 characters; a long typed paragraph ~1,500.
MAX_REQUEST_CHARS = 4000

_SURROGATE = re.compile(r"[\ud800-\udfff]")
_REPLACEMENT = "\ufffd"
#: Unicode categories: Cc control -> space, Cf format (invisible) -> dropped, Zl/Zp line and
#: paragraph separators -> space.
_AS_SPACE = frozenset({"Cc", "Zl", "Zp"})
_DROPPED = frozenset({"Cf"})


def check_request_length(text: str, max_chars: int = MAX_REQUEST_CHARS) -> None:
    """InvalidInput naming the length and the limit when ``text`` is longer than ``max_chars``."""
    if len(text) > max_chars:
        raise InvalidInput(f"request is {len(text):,} characters long; allowed: at most {max_chars:,} characters")


def _replace_lone_surrogates(text: str) -> str:
    # A correctly paired high+low surrogate (possible in a str built from UTF-16 pieces) is joined
    # into its character; every unpaired one becomes U+FFFD.
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


def _clean_character(char: str) -> str:
    category = unicodedata.category(char)
    if category in _AS_SPACE:
        return " "
    if category in _DROPPED:
        return ""
    return char


def normalize_request(text: object, max_chars: int | None = MAX_REQUEST_CHARS) -> str:
    """``text`` as the readers may take it: unpaired surrogates replaced by U+FFFD, control
    characters turned into spaces, format characters dropped, NFKC, stripped. InvalidInput when
    ``text`` is not a string, or (unless ``max_chars`` is None) longer than ``max_chars``.
    Idempotent: normalising twice gives the same text."""
    if not isinstance(text, str):
        raise InvalidInput(f"request text must be a string, got {type(text).__name__}")
    if max_chars is not None:
        check_request_length(text.strip(), max_chars)  # before the per-character work, so a huge paste costs nothing
    if _SURROGATE.search(text):
        text = _replace_lone_surrogates(text)
    if not text.isprintable():
        text = "".join(_clean_character(char) for char in text)
    # NFKC last: removing a format character can bring a letter and its accent together.
    text = unicodedata.normalize("NFKC", text).strip()
    if max_chars is not None:
        check_request_length(text, max_chars)  # NFKC can lengthen text (one "ﷺ" becomes 18 characters)
    return text


__all__ = ["MAX_REQUEST_CHARS", "check_request_length", "normalize_request"]
