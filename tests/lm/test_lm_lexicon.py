"""Tests for ctckit.lm.lexicon: the lexicon file format, errors, and the token trie.

The trie is checked against a brute-force reference: the set of all prefixes of the
pronunciations (its nodes) and, for each prefix, the words pronounced exactly so.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ctckit import hw3p2_vocabulary
from ctckit.errors import DataError, InputTypeError, InputValueError
from ctckit.lm import Lexicon
from ctckit.lm._layout import Trie

TORCHAUDIO = Path(__file__).resolve().parents[2].parent / "shared" / "peer_assets" / "torchaudio"


def _paths(trie: Trie) -> dict[tuple[int, ...], int]:
    """Every node's symbol path, by a depth-first walk of the child arrays."""
    out: dict[tuple[int, ...], int] = {}
    stack: list[tuple[int, tuple[int, ...]]] = [(0, ())]
    while stack:
        node, path = stack.pop()
        assert path not in out
        out[path] = node
        a, b = int(trie.child_start[node]), int(trie.child_start[node + 1])
        symbols = trie.child_symbol[a:b].tolist()
        assert symbols == sorted(symbols)  # binary search needs them ascending
        stack += [
            (int(trie.child_node[e]), (*path, int(trie.child_symbol[e]))) for e in range(a, b)
        ]
    return out


def test_torchaudio_lexicon_and_tokens_files() -> None:
    if not (TORCHAUDIO / "lexicon.txt").exists():
        pytest.skip(f"{TORCHAUDIO} is absent")
    lex = Lexicon.from_file(TORCHAUDIO / "lexicon.txt", TORCHAUDIO / "tokens.txt")
    assert lex.words == ("foo", "bar", "foobar")
    assert lex.tokens == ("-", "|", "f", "o", "b", "a", "r")
    assert lex.pronunciations("foobar") == [("f", "o", "o", "b", "a", "r", "|")]
    trie = lex.trie
    foo = trie.walk(lex.token_ids(["f", "o", "o"]))
    assert trie.values_of(foo) == ()  # "foo" ends after the word boundary "|"
    assert trie.values_of(trie.walk(lex.token_ids(["f", "o", "o", "|"]))) == (0,)
    assert trie.values_of(trie.walk(lex.token_ids(["f", "o", "o", "b", "a", "r", "|"]))) == (2,)
    assert trie.walk(lex.token_ids(["f", "a"])) == -1
    assert trie.num_nodes == 1 + 4 + 4 + 4  # root, f o o |, b a r | twice


def test_corpus_style_file_with_the_hw3p2_inventory(tmp_path: Path) -> None:
    """The corpus writes ARPAbet pronunciations of the HW3P2 inventory, several per word."""
    path = tmp_path / "lexicon.txt"
    path.write_text("a EY\nafter AE F T ER\nafter AE F T AH\nread R EH D\nred R EH D\n\n")
    vocab = hw3p2_vocabulary()
    lex = Lexicon.from_file(path, vocab)
    assert len(lex) == 4
    assert lex.pronunciations("after") == [("AE", "F", "T", "ER"), ("AE", "F", "T", "AH")]
    node = lex.trie.walk(vocab.encode(["R", "EH", "D"]))
    assert [lex.words[w] for w in lex.trie.values_of(node)] == ["read", "red"]
    assert lex.pronunciations_by_word()[1] == [
        tuple(vocab.encode(["AE", "F", "T", "ER"])),
        tuple(vocab.encode(["AE", "F", "T", "AH"])),
    ]
    path.write_text("a EY\nb \n")  # a word without tokens on line 2
    with pytest.raises(DataError, match="line 2: the word 'b' has an empty pronunciation"):
        Lexicon.from_file(path, vocab)


@given(
    st.dictionaries(
        st.text("abcdefgh", min_size=1, max_size=4),
        st.lists(st.lists(st.integers(1, 4), min_size=1, max_size=5), min_size=1, max_size=3),
        min_size=1,
        max_size=12,
    )
)
def test_trie_nodes_and_words_equal_brute_force(raw: dict[str, list[list[int]]]) -> None:
    tokens = ["-", "A", "B", "C", "D"]
    lex = Lexicon.from_dict(
        {w: [[tokens[t] for t in p] for p in prons] for w, prons in raw.items()}, tokens
    )
    trie = lex.trie
    prefixes = {tuple(p[:i]) for prons in raw.values() for p in prons for i in range(len(p) + 1)}
    ending: dict[tuple[int, ...], list[int]] = {}
    for wid, word in enumerate(lex.words):
        for p in dict.fromkeys(tuple(p) for p in raw[word]):  # a repeat is kept once
            ending.setdefault(p, []).append(wid)
    paths = _paths(trie)
    assert set(paths) == prefixes
    assert trie.num_nodes == len(prefixes)
    for path, node in paths.items():
        assert list(trie.values_of(node)) == ending.get(path, [])
        assert trie.depth[node] == len(path)
        assert trie.walk(path) == node
    # the Numba functions a kernel calls agree
    from ctckit.lm._trie import child, values_at

    for path, node in paths.items():
        if path:
            assert child(trie, paths[path[:-1]], path[-1]) == node
        a, b = values_at(trie, node)
        assert trie.values[a:b].tolist() == ending.get(path, [])
    assert child(trie, 0, 99) == -1


def test_round_trip_through_a_file(tmp_path: Path) -> None:
    lex = Lexicon.from_dict(
        {"été": ["e t e"], "a": ["a", "e"], "ab": [["a", "b"]]}, ["-", "a", "b", "e", "t"]
    )
    path = tmp_path / "sub" / "lexicon.txt"
    lex.to_file(path)
    assert path.read_text(encoding="utf-8") == "été e t e\na a\na e\nab a b\n"
    back = Lexicon.from_file(path, ["-", "a", "b", "e", "t"])
    assert (back.words, back.entries, back.tokens) == (lex.words, lex.entries, lex.tokens)
    assert sorted(os.listdir(path.parent)) == ["lexicon.txt"]  # written atomically


def test_repeated_pronunciations_are_kept_once_and_order_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "lexicon.txt"
    path.write_text("b x\na y\nb x\nb y\n")
    lex = Lexicon.from_file(path, ["x", "y"])
    assert lex.words == ("b", "a")
    assert lex.entries == ((0, (0,)), (1, (1,)), (0, (1,)))


@pytest.mark.parametrize(
    ("text", "line", "what"),
    [
        (
            "foo f o o |\nbar b a z |\n",
            2,
            "the word 'bar' uses the token 'z', which is not in the token set",
        ),
        ("foo f o o |\n\nbar\n", 3, "the word 'bar' has an empty pronunciation"),
        ("foo - o |\n", 1, "the word 'foo' uses the token '-'"),
    ],
)
def test_file_errors_name_the_line(tmp_path: Path, text: str, line: int, what: str) -> None:
    path = tmp_path / "lexicon.txt"
    path.write_text(text)
    with pytest.raises(DataError, match=what) as info:
        Lexicon.from_file(path, ["|", "f", "o", "b", "a", "r"])
    assert f"line {line}:" in str(info.value)
    assert str(path) in str(info.value)


def test_other_file_errors(tmp_path: Path) -> None:
    tokens = ["a", "b"]
    (tmp_path / "empty.txt").write_text("\n\n")
    with pytest.raises(DataError, match="the lexicon is empty"):
        Lexicon.from_file(tmp_path / "empty.txt", tokens)
    with pytest.raises(DataError, match="cannot read the lexicon"):
        Lexicon.from_file(tmp_path / "missing.txt", tokens)
    (tmp_path / "latin1.txt").write_bytes("caf\xe9 a\n".encode("latin-1"))
    with pytest.raises(DataError, match="not a UTF-8"):
        Lexicon.from_file(tmp_path / "latin1.txt", tokens)
    (tmp_path / "tokens.txt").write_text("a\n\nb\n")
    (tmp_path / "lexicon.txt").write_text("x a\n")
    with pytest.raises(DataError, match="line 2: a token must be one non-empty word"):
        Lexicon.from_file(tmp_path / "lexicon.txt", tmp_path / "tokens.txt")
    vocab = hw3p2_vocabulary()
    (tmp_path / "blank.txt").write_text("x AA\n")
    assert Lexicon.from_file(tmp_path / "blank.txt", vocab).entries == ((0, (2,)),)


def test_from_dict_errors() -> None:
    tokens = ["-", "a", "b"]
    with pytest.raises(InputValueError, match=r"lexicon\['x'\]: the word 'x' uses the token 'c'"):
        Lexicon.from_dict({"x": ["a c"]}, tokens)
    with pytest.raises(InputValueError, match="empty pronunciation"):
        Lexicon.from_dict({"x": ["a", ""]}, tokens)
    with pytest.raises(InputValueError, match=r"lexicon\['x'\] has no pronunciation"):
        Lexicon.from_dict({"x": []}, tokens)
    with pytest.raises(InputValueError, match="the lexicon is empty"):
        Lexicon.from_dict({}, tokens)
    with pytest.raises(InputValueError, match="without spaces"):
        Lexicon.from_dict({"a b": ["a"]}, tokens)
    with pytest.raises(InputTypeError, match="list of pronunciations"):
        Lexicon.from_dict({"x": "a b"}, tokens)  # type: ignore[dict-item]
    with pytest.raises(InputTypeError, match="mapping of words"):
        Lexicon.from_dict([("x", ["a"])], tokens)  # type: ignore[arg-type]
    with pytest.raises(InputValueError, match="listed twice"):
        Lexicon.from_dict({"x": ["a"]}, ["a", "b", "a"])
    with pytest.raises(InputTypeError, match="tokens must be"):
        Lexicon.from_dict({"x": ["a"]}, 3)  # type: ignore[arg-type]
    lex = Lexicon.from_dict({"x": ["a"]}, {"a": 3, "b": 1})
    assert lex.tokens == ("", "b", "", "a")
    assert lex.entries == ((0, (3,)),)
    with pytest.raises(InputValueError, match="'y' is not in the lexicon"):
        lex.word_id("y")
    with pytest.raises(InputValueError, match="token 'q' is not in the token set"):
        lex.token_ids(["q"])
    assert ("x" in lex, "y" in lex, list(lex)) == (True, False, ["x"])
    assert np.asarray(lex.trie.values).tolist() == [0]
