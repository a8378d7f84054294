"""What a page tells link previews: the description, cut to length."""

from __future__ import annotations

import textwrap

import pytest

from kb.publishing import DESCRIPTION_LENGTH, shorten


def test_a_short_text_is_kept_whole_on_one_line() -> None:
    assert shorten("  A short\n description.  ") == "A short description."


def test_the_word_that_ends_at_the_cut_is_kept() -> None:
    # "aaaa bbbb..." is 12 characters: the second word fits exactly before the dots.
    assert shorten("aaaa bbbb cccc dddd", 12) == "aaaa bbbb..."


@pytest.mark.parametrize("length", [14, 15, 16, 17, 20, 50])
def test_a_cut_text_fits_and_ends_in_whole_words(length: int) -> None:
    text = "Validation is not a one time event but a state kept up for the whole life of a system"
    short = shorten(text, length)
    assert len(short) <= length and short.endswith("...")
    assert text.startswith(short.removesuffix("...")) and text[len(short) - 3] == " "


def test_a_first_word_longer_than_the_limit_is_cut_not_dropped() -> None:
    url = "https://example.com/" + "x" * 300
    assert shorten(url) == url[: DESCRIPTION_LENGTH - 3] + "..."


def test_agrees_with_the_standard_library() -> None:
    words = ["GMP", "audit", "data", "integrity", "CAPA", "deviation", "risk-based", "approach", "to", "validation"]
    for start in range(len(words)):
        text = " ".join(words[start:] + words[:start])
        for length in range(len(text.split()[0]) + 3, len(text) + 2):
            assert shorten(text, length) == textwrap.shorten(text, length, placeholder="...")
