"""Pronunciation lexicons: words spelled in a model's tokens, and their token trie.

:class:`Lexicon` reads and writes torchaudio's / flashlight's lexicon format
(one ``word tok1 tok2 ...`` per line, several lines for a word with several
pronunciations) and holds the pronunciations as token ids of a token set (a
``tokens.txt`` file, a list of labels, a mapping or a
:class:`~ctckit.vocab.Vocabulary`). Its :attr:`~Lexicon.trie` is a prefix
trie over token ids in flat arrays that a Numba kernel walks, with the words
ending at each node (several for homophones).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import TypeAlias

import numpy as np

from ctckit.errors import DataError, InputTypeError, InputValueError
from ctckit.files import atomic_write_bytes
from ctckit.lm._layout import Trie
from ctckit.vocab import Vocabulary

__all__ = ["Lexicon"]

Tokens: TypeAlias = "str | os.PathLike[str] | Sequence[str] | Mapping[str, int] | Vocabulary"


class Lexicon:
    """Words and their pronunciations as token sequences, with a token trie.

    Build one with :meth:`from_file` or :meth:`from_dict` (the constructor is
    internal). Words keep the order of their first appearance; a word's
    pronunciations keep theirs, and a pronunciation listed twice for one word
    is kept once.

    Attributes:
        words: The words; word id ``i`` is ``words[i]``.
        tokens: The token set, by token id (``tokens[i]`` is id ``i``; ``""``
            for ids a mapping leaves out).
        entries: ``(word id, token ids)`` of every pronunciation, in order.

    Example:
        >>> lex = Lexicon.from_dict({"read": ["R IY D", "R EH D"], "red": ["R EH D"]},
        ...                         tokens=["-", "R", "IY", "EH", "D"])
        >>> lex
        Lexicon(2 words, 3 pronunciations, 5 tokens)
        >>> node = lex.trie.walk(lex.token_ids(["R", "EH", "D"]))
        >>> [lex.words[w] for w in lex.trie.values_of(node)]  # homophones share a node
        ['read', 'red']
    """

    def __init__(
        self, words: list[str], entries: list[tuple[int, tuple[int, ...]]], tokens: list[str]
    ) -> None:
        self.words: tuple[str, ...] = tuple(words)
        self.entries: tuple[tuple[int, tuple[int, ...]], ...] = tuple(entries)
        self.tokens: tuple[str, ...] = tuple(tokens)
        self._index = {w: i for i, w in enumerate(self.words)}
        self._token_index = {t: i for i, t in enumerate(self.tokens) if t}
        self._trie: Trie | None = None

    # -- construction --------------------------------------------------------

    @classmethod
    def from_file(cls, path: str | os.PathLike[str], tokens: Tokens) -> Lexicon:
        """Read a lexicon file: ``word tok1 tok2 ...`` per line, tokens separated by whitespace.

        Blank lines are skipped.

        Args:
            path: The lexicon file (UTF-8).
            tokens: The token set: a ``tokens.txt`` path (one token per line,
                its id the line's index), a sequence of labels, a mapping of
                token to id, or a :class:`~ctckit.vocab.Vocabulary` (whose
                blank cannot be used).

        Returns:
            The lexicon.

        Raises:
            DataError: Naming the path and line: a token not in the token set,
                a word without pronunciation, a file that is missing, not
                UTF-8 or holds no entry.
            InputValueError: On a bad token set.

        Example:
            >>> import os, tempfile
            >>> path = os.path.join(tempfile.mkdtemp(), "lexicon.txt")
            >>> _ = open(path, "w").write("foo f o o |\\nbar b a r |\\n")
            >>> Lexicon.from_file(path, tokens=["-", "|", "f", "o", "b", "a", "r"]).entries[1]
            (1, (4, 5, 6, 1))
        """
        spath = os.fspath(path)
        token_list, index, blank = _token_set(tokens)
        try:
            with open(spath, encoding="utf-8") as f:
                lines = f.read().splitlines()
        except OSError as err:
            raise DataError(f"cannot read the lexicon: {err.strerror}", path=spath) from None
        except UnicodeDecodeError as err:
            raise DataError(f"not a UTF-8 text file ({err.reason})", path=spath) from None
        builder = _Builder(index, blank)
        for number, line in enumerate(lines, start=1):
            fields = line.split()
            if not fields:
                continue
            problem = builder.add(fields[0], fields[1:])
            if problem:
                raise DataError(f"line {number}: {problem}", path=spath)
        if not builder.entries:
            raise DataError("the lexicon is empty (no 'word tok1 tok2 ...' line)", path=spath)
        return cls(builder.words, builder.entries, token_list)

    @classmethod
    def from_dict(
        cls, lexicon: Mapping[str, Iterable[str | Sequence[str]]], tokens: Tokens
    ) -> Lexicon:
        """A lexicon from ``{word: [pronunciation, ...]}``.

        Args:
            lexicon: Each word's pronunciations, each a string of tokens
                separated by whitespace or a sequence of tokens.
            tokens: The token set, as in :meth:`from_file`.

        Returns:
            The lexicon.

        Raises:
            InputValueError: A token not in the token set, an empty
                pronunciation, a word with none or holding whitespace, or an
                empty lexicon (each naming the word).
            InputTypeError: If ``lexicon`` is not such a mapping.

        Example:
            >>> lex = Lexicon.from_dict({"hi": [["HH", "AY"]]}, tokens=["", "HH", "AY"])
            >>> lex.entries
            ((0, (1, 2)),)
        """
        if not isinstance(lexicon, Mapping):
            raise InputTypeError(
                "lexicon must be a mapping of words to pronunciations, "
                f"got {type(lexicon).__name__}"
            )
        token_list, index, blank = _token_set(tokens)
        builder = _Builder(index, blank)
        for word, prons in lexicon.items():
            if not isinstance(word, str) or not word or any(c.isspace() for c in word):
                raise InputValueError(
                    f"a word must be a non-empty string without spaces, got {word!r}"
                )
            if isinstance(prons, str) or not isinstance(prons, Iterable):
                raise InputTypeError(
                    f"lexicon[{word!r}] must be a list of pronunciations, got {prons!r}"
                )
            count = 0
            for pron in prons:
                toks = pron.split() if isinstance(pron, str) else list(pron)
                problem = builder.add(word, toks)
                if problem:
                    raise InputValueError(f"lexicon[{word!r}]: {problem}")
                count += 1
            if count == 0:
                raise InputValueError(f"lexicon[{word!r}] has no pronunciation")
        if not builder.entries:
            raise InputValueError("the lexicon is empty")
        return cls(builder.words, builder.entries, token_list)

    def to_file(self, path: str | os.PathLike[str]) -> None:
        """Write the lexicon in the format :meth:`from_file` reads, atomically.

        One line per pronunciation, tokens separated by single spaces, in the
        lexicon's order.

        Example:
            >>> import os, tempfile
            >>> path = os.path.join(tempfile.mkdtemp(), "lexicon.txt")
            >>> Lexicon.from_dict({"ab": ["A B"]}, tokens=["-", "A", "B"]).to_file(path)
            >>> open(path).read()
            'ab A B\\n'
        """
        lines = [
            f"{self.words[w]} {' '.join(self.tokens[t] for t in toks)}\n"
            for w, toks in self.entries
        ]
        atomic_write_bytes(path, "".join(lines).encode("utf-8"))

    # -- access ----------------------------------------------------------------

    def __len__(self) -> int:
        """Number of words."""
        return len(self.words)

    def __contains__(self, word: object) -> bool:
        return word in self._index

    def __iter__(self) -> Iterator[str]:
        return iter(self.words)

    def __repr__(self) -> str:
        return (
            f"Lexicon({len(self.words)} words, {len(self.entries)} pronunciations, "
            f"{len(self.tokens)} tokens)"
        )

    def word_id(self, word: str) -> int:
        """The id of ``word``.

        Raises:
            InputValueError: If ``word`` is not in the lexicon.
        """
        wid = self._index.get(word)
        if wid is None:
            raise InputValueError(f"{word!r} is not in the lexicon ({len(self.words)} words)")
        return wid

    def token_ids(self, tokens: Iterable[str]) -> list[int]:
        """Token ids of token strings.

        Raises:
            InputValueError: If a token is not in the token set.
        """
        out = []
        for t in tokens:
            tid = self._token_index.get(t)
            if tid is None:
                raise InputValueError(f"token {t!r} is not in the token set")
            out.append(tid)
        return out

    def pronunciations(self, word: str) -> list[tuple[str, ...]]:
        """The pronunciations of ``word`` as token strings.

        Example:
            >>> lex = Lexicon.from_dict({"a": ["AH", "EY"]}, tokens=["", "AH", "EY"])
            >>> lex.pronunciations("a")
            [('AH',), ('EY',)]
        """
        wid = self.word_id(word)
        return [tuple(self.tokens[t] for t in toks) for w, toks in self.entries if w == wid]

    def pronunciations_by_word(self) -> list[list[tuple[int, ...]]]:
        """Each word's pronunciations as token ids, in word-id order."""
        out: list[list[tuple[int, ...]]] = [[] for _ in self.words]
        for w, toks in self.entries:
            out[w].append(toks)
        return out

    @property
    def trie(self) -> Trie:
        """The token trie of the pronunciations (built on first use).

        Symbols are token ids; the values at a node are the ids of the words
        whose pronunciation ends there (homophones share a node, in lexicon
        order; a word with several pronunciations ends at several nodes).
        See :mod:`ctckit.lm._trie` for the layout and the Numba functions
        that walk it (``child``, ``values_at``).
        """
        if self._trie is None:
            from ctckit.lm._trie import build_trie

            lengths = [len(toks) for _, toks in self.entries]
            offsets = np.zeros(len(self.entries) + 1, dtype=np.int64)
            np.cumsum(lengths, out=offsets[1:])
            symbols = np.fromiter(
                (t for _, toks in self.entries for t in toks),
                dtype=np.int32,
                count=int(offsets[-1]),
            )
            values = np.array([w for w, _ in self.entries], dtype=np.int32)
            order = sorted(range(len(self.entries)), key=lambda i: self.entries[i][1])
            self._trie = build_trie(symbols, offsets, values, np.array(order, dtype=np.int64))
        return self._trie


class _Builder:
    """Collects entries, checking tokens; ``add`` returns a problem to report, or ``""``."""

    def __init__(self, index: Mapping[str, int], blank: str | None) -> None:
        self.index = index
        self.blank = blank
        self.words: list[str] = []
        self.word_ids: dict[str, int] = {}
        self.entries: list[tuple[int, tuple[int, ...]]] = []
        self.seen: set[tuple[int, tuple[int, ...]]] = set()

    def add(self, word: str, toks: Sequence[object]) -> str:
        if not toks:
            return f"the word {word!r} has an empty pronunciation"
        ids = []
        for tok in toks:
            if not isinstance(tok, str):
                return f"the word {word!r} has a token {tok!r} that is not a string"
            if tok == self.blank:
                return f"the word {word!r} uses the blank {tok!r} as a token"
            tid = self.index.get(tok)
            if tid is None:
                return (
                    f"the word {word!r} uses the token {tok!r}, which is not in the token set "
                    f"({len(self.index)} tokens)"
                )
            ids.append(tid)
        wid = self.word_ids.setdefault(word, len(self.words))
        if wid == len(self.words):
            self.words.append(word)
        entry = (wid, tuple(ids))
        if entry not in self.seen:
            self.seen.add(entry)
            self.entries.append(entry)
        return ""


def _token_set(tokens: object) -> tuple[list[str], dict[str, int], str | None]:
    """``(tokens by id, token -> id, the blank or None)`` of a token-set argument."""
    blank: str | None = None
    if isinstance(tokens, (str, os.PathLike)):
        path = os.fspath(tokens)
        try:
            with open(path, encoding="utf-8") as f:
                listed = [line.strip() for line in f.read().splitlines()]
        except OSError as err:
            raise DataError(f"cannot read the tokens file: {err.strerror}", path=path) from None
        except UnicodeDecodeError as err:
            raise DataError(f"not a UTF-8 text file ({err.reason})", path=path) from None
        for number, tok in enumerate(listed, start=1):
            if not tok or any(c.isspace() for c in tok):
                raise DataError(f"line {number}: a token must be one non-empty word", path=path)
        by_id = listed
    elif isinstance(tokens, Vocabulary):
        by_id = list(tokens.labels)
        blank = by_id[tokens.blank]
    elif isinstance(tokens, Mapping):
        ids = {}
        for tok, i in tokens.items():
            if (
                not isinstance(tok, str)
                or isinstance(i, bool)
                or not isinstance(i, (int, np.integer))
            ):
                raise InputTypeError(f"tokens must map str to int ids, got {tok!r}: {i!r}")
            if i < 0:
                raise InputValueError(f"token ids must be >= 0, got {tok!r}: {i}")
            ids[tok] = int(i)
        by_id = [""] * (max(ids.values(), default=-1) + 1)
        for tok, i in ids.items():
            by_id[i] = tok
    elif isinstance(tokens, Sequence) and all(isinstance(t, str) for t in tokens):
        by_id = list(tokens)
    else:
        raise InputTypeError(
            "tokens must be a tokens file, a sequence of str, a mapping of str to id or a "
            f"Vocabulary, got {type(tokens).__name__}"
        )
    if not by_id:
        raise InputValueError("the token set is empty")
    index: dict[str, int] = {}
    for i, tok in enumerate(by_id):  # an empty label (a blank's) is never a token
        if any(c.isspace() for c in tok):
            raise InputValueError(f"token {i} ({tok!r}) holds whitespace")
        if tok and tok in index:
            raise InputValueError(f"token {tok!r} is listed twice (ids {index[tok]} and {i})")
        if tok:
            index[tok] = i
    return by_id, index, blank
