"""Independent references for the LM tests.

:func:`reference_prob` is a plain-Python interpolated Kneser-Ney / Witten-Bell
written straight from the formulas over string-marked n-gram dicts (no numpy,
no backoff form), used as the oracle of :class:`~ctckit.lm.NGramLM` and
:class:`~ctckit.lm.WordNGramLM` fitting. :func:`read_unigram_words` reads an
ARPA file's words by plain line reading (to map them to ids in tests).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from functools import cache
from pathlib import Path


def reference_prob(
    corpus: Sequence[Sequence[int]], order: int, vocab_size: int, blank: int, smoothing: str
) -> Callable[[Sequence[int], int | str], float]:
    """``prob(history, word)`` of the interpolated model, from the formulas."""
    words: list[int | str] = [v for v in range(vocab_size) if v != blank] + ["</s>"]
    raw: Counter[tuple[int | str, ...]] = Counter()
    for sentence in corpus:
        padded: list[int | str] = ["<s>", *sentence, "</s>"]
        for i in range(1, len(padded)):
            for k in range(1, min(order, i + 1) + 1):
                raw[tuple(padded[i - k + 1 : i + 1])] += 1
    if smoothing == "kneser-ney":
        left: dict[tuple[int | str, ...], set[int | str]] = defaultdict(set)
        for gram in raw:
            if len(gram) >= 2:
                left[gram[1:]].add(gram[0])
        count = {
            g: (c if len(g) == order or g[0] == "<s>" else len(left[g])) for g, c in raw.items()
        }
    else:
        count = dict(raw)
    discounts: dict[int, tuple[float, float, float]] = {}
    for k in range(1, order + 1):
        cs = [c for g, c in count.items() if len(g) == k]
        n1, n2, n3, n4 = (cs.count(j) for j in (1, 2, 3, 4))
        d = (0.5, 1.0, 1.5)
        if n1 and n2 and n3:
            y = n1 / (n1 + 2 * n2)
            est = (1 - 2 * y * n2 / n1, 2 - 3 * y * n3 / n2, 3 - 4 * y * n4 / n3)
            if all(0 < est[j - 1] <= j for j in (1, 2, 3)):
                d = est
        discounts[k] = d
    followers: dict[tuple[int | str, ...], dict[int | str, int]] = defaultdict(dict)
    for g, c in count.items():
        followers[g[:-1]][g[-1]] = c

    @cache
    def p(word: int | str, ctx: tuple[int | str, ...]) -> float:
        lower = 1.0 / len(words) if not ctx else p(word, ctx[1:])
        seen = followers.get(ctx)
        if not seen:
            return lower
        total = sum(seen.values())
        if smoothing == "witten-bell":
            return (seen.get(word, 0) + len(seen) * lower) / (total + len(seen))
        d = discounts[len(ctx) + 1]

        def disc(c: int) -> float:
            return d[min(c, 3) - 1]

        gamma = sum(disc(c) for c in seen.values()) / total
        c = seen.get(word, 0)
        return (c - disc(c) if c else 0.0) / total + gamma * lower

    def prob(history: Sequence[int], word: int | str) -> float:
        ctx: tuple[int | str, ...] = ("<s>", *history)
        return p(word, ctx[len(ctx) - (order - 1) :] if len(ctx) > order - 1 else ctx)

    return prob


def read_unigram_words(path: Path) -> list[str]:
    """The words of an ARPA file's 1-grams section, markers excluded (plain line reading)."""
    words: list[str] = []
    inside = False
    for line in path.read_text(encoding="utf-8").splitlines():
        text = line.strip()
        if text == "\\1-grams:":
            inside = True
        elif inside and (not text or text.startswith("\\")):
            break
        elif inside:
            word = text.split()[1]
            if word not in ("<s>", "</s>", "<unk>"):
                words.append(word)
    return words
