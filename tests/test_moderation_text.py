"""Words for matching: folded, de-obfuscated, with offsets into the text as the author typed it."""

import unicodedata

import pytest

from moderation.text import Lattice, fold, is_marked_text, marks_compatible, tokenize


def test_fold_removes_diacritics_and_case():
    assert fold("Đăng Ký TÀI KHOẢN") == "dang ky tai khoan"


@pytest.mark.parametrize(
    ("typed", "entry", "compatible"),
    [
        ("lon", "lồn", True),  # marks left out: could be the word
        ("lôn", "lồn", True),
        ("lồn", "lồn", True),
        ("lộn", "lồn", False),  # different marks: a different word ("mistake")
        ("lớn", "lồn", False),
        ("dm", "đm", True),
        ("đu", "đụ", True),
        ("lon", "lồng", False),
    ],
)
def test_marks_compatible_allows_missing_but_not_different_diacritics(typed, entry, compatible):
    assert marks_compatible(typed, entry) is compatible


def test_tokens_keep_offsets_into_the_original_text():
    text = "Chào  bạn, mày NGU thế!"
    tokens = tokenize(text)
    assert [token.text for token in tokens] == ["chào", "bạn", "mày", "ngu", "thế"]
    assert [text[token.start : token.end] for token in tokens] == [
        "Chào",
        "bạn",
        "mày",
        "NGU",
        "thế",
    ]


def test_decomposed_input_offsets_still_point_into_the_original():
    text = unicodedata.normalize("NFD", "ừ thì địt")
    token = tokenize(text)[-1]
    assert token.text == "địt"
    assert text[token.start : token.end] == unicodedata.normalize("NFD", "địt")


@pytest.mark.parametrize(
    ("typed", "decoded"),
    [("l0n", "lon"), ("0c", "oc"), ("ch0", "cho"), ("đ1t", "đit"), ("v@i", "vai"), ("4g", "ag")],
)
def test_leetspeak_is_decoded_and_marked_obfuscated(typed, decoded):
    (token,) = tokenize(typed)
    assert token.text == decoded
    assert token.obfuscated


@pytest.mark.parametrize("number", ["125cc", "0912345678", "2024", "h264"])
def test_numbers_and_model_names_are_not_leetspeak(number):
    (token,) = tokenize(number)
    assert token.text == number
    assert not token.obfuscated


@pytest.mark.parametrize("typed", ["đ.ị.t", "đ-ị-t", "đ*ịt", "đ'ịt"])
def test_joiners_inside_a_word_are_dropped(typed):
    (token,) = tokenize(typed)
    assert token.text == "địt"
    assert token.obfuscated
    assert (token.start, token.end) == (0, len(typed))


def test_ordinary_dotted_words_are_joined_but_not_obfuscated():
    (token,) = tokenize("TP.HCM")
    assert token.text == "tphcm"
    assert not token.obfuscated


def test_letters_spelled_out_become_candidate_words():
    text = "thằng n g u"
    lattice = Lattice(text)
    candidates = {
        (edge.token.text, text[edge.token.start : edge.token.end])
        for edge in (
            edge for position in range(len(lattice.tokens)) for edge in lattice.edges_from(position)
        )
    }
    assert ("ngu", "n g u") in candidates
    assert ("gu", "g u") in candidates


def test_letters_far_apart_are_not_joined():
    lattice = Lattice("n,   g")
    assert all(edge.last - edge.first == 1 for edge in lattice.edges_from(0))


def test_marked_text_is_judged_on_ordinary_words():
    assert is_marked_text(tokenize("Câu hỏi này ngu quá"))
    assert not is_marked_text(tokenize("cau hoi nay ngu qua"))
    assert not is_marked_text(tokenize("ok"))
