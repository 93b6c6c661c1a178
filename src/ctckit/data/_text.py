"""The synthetic corpus's text model: a seeded probabilistic grammar over word classes (private).

Sentences come from a small hand-written probabilistic grammar (written for
ctckit; no corpus was copied): clause templates (transitive and
intransitive clauses, copulas, "there was ...", "wanted to ...", questions,
imperatives, weather, two clauses joined by a conjunction) over word
classes, with agreement (a/an, is/are, she walks/they walk), tenses (past,
present, modal, perfect) and selectional preferences (one eats food, drives
vehicles, wears clothing; a hungry person, a sweet cake), so that word order
carries information at the level of classes and of words. Within a class,
words are drawn with Zipf-Mandelbrot weights ``1 / (rank + 2.7)`` by the rank
they have in :mod:`ctckit.data._words` (most common first), which makes the
vocabulary Zipfian as a whole.

:meth:`TextModel.sentence` draws sentences until one has the wanted number
of words (the length stays uniform over 3 to 12 words, as before), so a
sentence is a pure function of the generator's state.
"""

from __future__ import annotations

import bisect
import functools
import itertools
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, NamedTuple, TypeVar

import numpy as np

from ctckit.data import _words

__all__ = ["VOCABULARY", "TextModel", "pause_allowed", "text_model"]

_T = TypeVar("_T")
_ZIPF_SHIFT = 2.7
_ZIPF_EXPONENT = 1.25
_COLLOCATION = 0.8  # share of words drawn in the order their head word prefers
_MAX_TRIES = 200
_CLAUSE_TRIES = 20

_SUBJECT_PRONOUNS = {
    "person": (("i", 1, "sg"), ("he", 3, "sg"), ("she", 3, "sg"), ("we", 1, "pl"),
               ("they", 3, "pl"), ("you", 2, "pl")),
    "animal": (("it", 3, "sg"), ("they", 3, "pl")),
}  # fmt: skip
_OBJECT_PRONOUNS = {"person": ("me", "him", "her", "us", "them", "you"), "animal": ("it", "them")}
_DET_SINGULAR = ("the", "a", "this", "my", "that", "his", "her", "your", "our", "their",
                 "every", "one", "no", "another")  # fmt: skip
_DET_PLURAL = ("the", "some", "three", "two", "many", "both", "these", "my", "those", "his",
               "her", "all", "our", "your", "their", "four", "five", "few", "ten", "six",
               "twenty", "seven", "eight", "nine", "twelve")  # fmt: skip
_INDEFINITES = ("something", "nothing", "everything")
_DET_MASS = ("the", "some", "more", "my", "this", "no", "our", "their", "much")
_PLACE_PREPOSITIONS = ("in", "on", "near", "at", "under", "behind", "by", "beside", "inside",
                       "outside", "above", "below", "between")  # fmt: skip
_MOTION_PREPOSITIONS = ("to", "into", "through", "across", "around", "toward", "along", "from",
                        "over", "past")  # fmt: skip
_MODALS = ("will", "can", "could", "would", "should", "must", "might", "may")
_CONJUNCTIONS = ("and", "but", "so", "because", "when", "while", "before", "after", "until",
                 "and then", "if", "although")  # fmt: skip
_CONTROL = (("want", "wanted"), ("try", "tried"), ("like", "liked"), ("need", "needed"),
            ("decide", "decided"), ("hope", "hoped"), ("forget", "forgot"), ("begin", "began"),
            ("start", "started"), ("love", "loved"), ("plan", "planned"))  # fmt: skip
_WEATHER = ("cold", "hot", "warm", "dark", "windy", "sunny", "cloudy", "late", "quiet", "early")
_WEATHER_VERBS = ("rained", "snowed", "rains", "snows")
_MOTION = frozenset({"go", "come", "run", "walk", "swim", "fly", "travel", "hurry", "return",
                     "drive", "ride"})  # fmt: skip
_FREE = frozenset({"person", "animal"})  # categories a pronoun or a name can stand for


class _Draw(NamedTuple):
    """One sentence's random source and richness (0 for 3 words, 1 for 12)."""

    rng: np.random.Generator
    rich: float


class Phrase(NamedTuple):
    """A noun phrase: its words, grammatical person and number, and its noun's category."""

    words: list[str]
    person: int
    number: str
    category: str
    head: str = ""  # the noun (or pronoun, name)


@dataclass(frozen=True)
class Noun:
    """A noun with its plural (``None``: a mass noun) and category."""

    singular: str
    plural: str | None
    category: str


@dataclass(frozen=True)
class Verb:
    """A verb's forms and the noun categories of its object (or subject, if intransitive)."""

    base: str
    third: str
    past: str
    participle: str
    categories: tuple[str, ...]


def _plural(word: str) -> str:
    if word.endswith(("s", "x", "z", "ch", "sh")):
        return word + "es"
    if word.endswith("y") and word[-2] not in "aeiou":
        return word[:-1] + "ies"
    return word + "s"


def _third(base: str) -> str:
    if base in ("go", "do"):
        return base + "es"
    if base == "have":
        return "has"
    return _plural(base)


def _regular_past(base: str, double: bool) -> str:
    if double:
        return base + base[-1] + "ed"
    if base.endswith("e"):
        return base + "d"
    if base.endswith("y") and base[-2] not in "aeiou":
        return base[:-1] + "ied"
    return base + "ed"


def _parse_verbs(table: str) -> list[Verb]:
    verbs = []
    for line in table.strip().splitlines():
        forms, categories = line.split(":")
        names = forms.split()
        double = names[0].endswith("*")
        base = names[0].rstrip("*")
        past = names[1] if len(names) > 1 else _regular_past(base, double)
        participle = names[2] if len(names) > 2 else past
        verbs.append(Verb(base, _third(base), past, participle, tuple(categories.split())))
    return verbs


def _parse_nouns(table: dict[str, str]) -> dict[str, list[Noun]]:
    out: dict[str, list[Noun]] = {}
    for category, words in table.items():
        nouns = []
        for entry in words.split():
            if entry.startswith(_words.MASS):
                nouns.append(Noun(entry[1:], None, category))
            elif "/" in entry:
                singular, plural = entry.split("/")
                nouns.append(Noun(singular, plural, category))
            else:
                nouns.append(Noun(entry, _plural(entry), category))
        out[category] = nouns
    return out


def _parse_adjectives(table: str) -> dict[str, list[str]]:
    by_category: dict[str, list[str]] = {}
    for line in table.strip().splitlines():
        word, categories = (part.strip() for part in line.split(":"))
        for category in categories.split():
            by_category.setdefault(category, []).append(word)
    return by_category


class _Pool(Generic[_T]):
    """Items drawn with Zipf-Mandelbrot weights by their rank."""

    def __init__(self, items: Sequence[_T]) -> None:
        self.items = list(items)
        weights = (np.arange(len(self.items)) + _ZIPF_SHIFT) ** -_ZIPF_EXPONENT
        self.cumulative = list(itertools.accumulate((weights / weights.sum()).tolist()))

    def draw(self, rng: np.random.Generator) -> _T:
        i = bisect.bisect_right(self.cumulative, rng.random())
        return self.items[min(i, len(self.items) - 1)]


@functools.cache
def _harmonic(n: int) -> list[float]:
    """Cumulative weights 1, 1 + 1/2, ..., up to ``n`` terms."""
    return list(itertools.accumulate(1.0 / k for k in range(1, n + 1)))


def _an(next_word: str) -> str:
    vowel_sound = next_word[0] in "aeio" or (
        next_word[0] == "u" and not next_word.startswith(("use", "usu", "uni"))
    )
    return "an" if vowel_sound or next_word in ("hour", "honest") else "a"


class TextModel:
    """The corpus's sentence generator (see the module documentation).

    Example:
        >>> model = text_model()
        >>> rng = np.random.default_rng(0)
        >>> words = model.sentence(rng, 6)
        >>> len(words), all(w in VOCABULARY for w in words)
        (6, True)
    """

    def __init__(self) -> None:
        self.nouns = _parse_nouns(_words.NOUNS)
        self.noun_pools = {c: _Pool(nouns) for c, nouns in self.nouns.items()}
        self._collocations: dict[tuple[int, str, str], _Pool[object]] = {}
        self.transitive = _parse_verbs(_words.TRANSITIVE)
        self.intransitive = _parse_verbs(_words.INTRANSITIVE)
        self.transitive_pool = _Pool(self.transitive)
        self.intransitive_pool = _Pool(self.intransitive)
        by_subject: dict[str, list[Verb]] = {}
        for verb in self.intransitive:
            for category in verb.categories:
                by_subject.setdefault(category, []).append(verb)
        self.intransitive_by_subject = {c: _Pool(v) for c, v in by_subject.items()}
        self.adjectives = {c: _Pool(a) for c, a in _parse_adjectives(_words.ADJECTIVES).items()}
        self.manners = {"manner": _Pool(_words.ADVERBS_MANNER.split())}
        self.frequency = _Pool(_words.ADVERBS_FREQUENCY.split())
        self.times = _Pool([t.split() for t in _words.TIMES.split("|")])
        self.weekdays = _Pool(_words.WEEKDAYS.split())
        self.names = _Pool(_words.NAMES.split())
        self.det_singular = _Pool(_DET_SINGULAR)
        self.det_plural = _Pool(_DET_PLURAL)
        self.det_mass = _Pool(_DET_MASS)
        self.prepositions = {"rest": _Pool(_PLACE_PREPOSITIONS),
                             "motion": _Pool(_MOTION_PREPOSITIONS)}  # fmt: skip
        self.modals = _Pool(_MODALS)
        self.conjunctions = _Pool([c.split() for c in _CONJUNCTIONS])
        self.control = _Pool(_CONTROL)
        self.weather = _Pool(_WEATHER)
        self.clauses: list[tuple[float, Callable[[_Draw], list[str]]]] = [
            (0.34, self._transitive_clause),
            (0.20, self._intransitive_clause),
            (0.09, self._copula_adjective),
            (0.05, self._copula_place),
            (0.04, self._there_is),
            (0.06, self._control_clause),
            (0.08, self._question),
            (0.06, self._imperative),
            (0.02, self._weather),
            (0.04, self._compound),
        ]
        total = sum(w for w, _ in self.clauses)
        self.clause_cumulative = list(itertools.accumulate(w / total for w, _ in self.clauses))

    # ------------------------------------------------------------------ noun phrases

    @staticmethod
    def _category(d: _Draw, categories: Sequence[str]) -> str:
        """One of ``categories``, the earlier ones likelier (weights 1, 1/2, 1/3, ...)."""
        cumulative = _harmonic(len(categories))
        return categories[bisect.bisect_right(cumulative, d.rng.random() * cumulative[-1])]

    def _pool(
        self, d: _Draw, pools: dict[str, _Pool[_T]], category: str, head: str | None
    ) -> _Pool[_T]:
        """The pool of ``category``, or (likelier) the same words in the order ``head`` prefers.

        Each head word (a verb for its objects, a noun for its adjectives) ranks
        the words of a category in an order of its own, fixed by a hash of the
        two names: collocations that a word n-gram model can learn.
        """
        if head is None or d.rng.random() >= _COLLOCATION:
            return pools[category]
        key = (id(pools), head, category)  # the pools are attributes of this (immortal) model
        if key not in self._collocations:
            order = np.random.default_rng(zlib.crc32(f"{head}/{category}".encode())).permutation(
                len(pools[category].items)
            )
            self._collocations[key] = _Pool([pools[category].items[i] for i in order])
        return self._collocations[key]  # type: ignore[return-value]

    def _noun_phrase(
        self, d: _Draw, categories: Sequence[str], subject: bool, head: str | None = None
    ) -> Phrase:
        """A noun phrase of one of ``categories``: a subject, or the object of verb ``head``."""
        category = self._category(d, categories)
        r = d.rng.random()
        pronoun = (0.4 if subject else 0.15) * (1.0 - 0.7 * d.rich)
        if category in _FREE and r < pronoun:
            if subject:
                choices = _SUBJECT_PRONOUNS[category]
                word, person, number = choices[int(d.rng.integers(0, len(choices)))]
                return Phrase([word], person, number, category, word)
            objects = _OBJECT_PRONOUNS[category]
            word = objects[int(d.rng.integers(0, len(objects)))]
            return Phrase([word], 3, "sg", category, word)
        if not subject and category in ("thing", "food") and r < 0.05:
            word = _INDEFINITES[int(d.rng.integers(0, len(_INDEFINITES)))]
            return Phrase([word], 3, "sg", category, word)
        if category == "person" and r < pronoun + 0.15:
            name = self.names.draw(d.rng)
            return Phrase([name], 3, "sg", category, name)
        noun = self._pool(d, self.noun_pools, category, head).draw(d.rng)
        adjectives: list[str] = []
        if category in self.adjectives and d.rng.random() < 0.1 + 0.4 * d.rich:
            adjectives.append(self._pool(d, self.adjectives, category, noun.singular).draw(d.rng))
            if d.rng.random() < 0.05 + 0.2 * d.rich:
                second = self.adjectives[category].draw(d.rng)
                if second != adjectives[0]:
                    adjectives.insert(0, second)
        if noun.plural is None:  # mass noun
            det = [] if d.rng.random() < 0.5 - 0.3 * d.rich else [self.det_mass.draw(d.rng)]
            words, number = [*det, *adjectives, noun.singular], "sg"
        elif d.rng.random() < 0.25:
            det = [] if d.rng.random() < 0.3 - 0.2 * d.rich else [self.det_plural.draw(d.rng)]
            words, number = [*det, *adjectives, noun.plural], "pl"
        else:
            det_word = self._determiner(d)
            following = (adjectives or [noun.singular])[0]
            words = [_an(following) if det_word == "a" else det_word, *adjectives, noun.singular]
            number = "sg"
        if category in _FREE and d.rng.random() < 0.15 * d.rich:
            words += self._modifier(d)
        return Phrase(words, 3, number, category, noun.singular)

    def _modifier(self, d: _Draw) -> list[str]:
        """A prepositional phrase after a noun: 'with a red hat', 'from the village'."""
        if d.rng.random() < 0.5:
            hat = self._noun_phrase(d, ("clothing", "thing", "animal"), subject=False)
            return ["with", *hat.words]
        return ["from", *self._place(d)]

    def _determiner(self, d: _Draw) -> str:
        """A singular determiner: 'the' half the time, 'a' a quarter, the rest by rank."""
        r = d.rng.random()
        return "the" if r < 0.5 else "a" if r < 0.75 else self.det_singular.draw(d.rng)

    def _place(self, d: _Draw, head: str | None = None) -> list[str]:
        """'the kitchen', 'my old house', 'a table' (``head``: the verb before it)."""
        category = "place" if d.rng.random() < 0.7 else "furniture"
        noun = self._pool(d, self.noun_pools, category, head).draw(d.rng).singular
        det = "the" if d.rng.random() < 0.6 else self._determiner(d)
        words = [noun]
        if d.rng.random() < 0.05 + 0.3 * d.rich:
            words.insert(0, self._pool(d, self.adjectives, category, noun).draw(d.rng))
        return [_an(words[0]) if det == "a" else det, *words]

    def _place_phrase(self, d: _Draw, motion: bool, head: str | None = None) -> list[str]:
        prep = self._pool(d, self.prepositions, "motion" if motion else "rest", head).draw(d.rng)
        return [prep, *self._place(d, head)]

    def _time(self, d: _Draw) -> list[str]:
        if d.rng.random() < 0.1:
            return ["on", self.weekdays.draw(d.rng)]
        return list(self.times.draw(d.rng))

    # ------------------------------------------------------------------ verbs

    def _tense(self, d: _Draw, verb: Verb, person: int, number: str) -> list[str]:
        r = d.rng.random()
        third = person == 3 and number == "sg"
        if r < 0.5:
            return [verb.past]
        if r < 0.78:
            if d.rng.random() < 0.1 + 0.2 * d.rich:
                return [self.frequency.draw(d.rng), verb.third if third else verb.base]
            return [verb.third if third else verb.base]
        if r < 0.94:
            return [self.modals.draw(d.rng), verb.base]
        return ["has" if third else "have", verb.participle]

    @staticmethod
    def _be(d: _Draw, person: int, number: str) -> str:
        if d.rng.random() < 0.55:
            return "was" if number == "sg" and person != 2 else "were"
        if person == 1 and number == "sg":
            return "am"
        return "is" if number == "sg" and person == 3 else "are"

    # ------------------------------------------------------------------ clauses

    def _subject(self, d: _Draw, animals: float = 0.3) -> Phrase:
        category = "animal" if d.rng.random() < animals else "person"
        return self._noun_phrase(d, (category,), subject=True)

    def _object(self, d: _Draw, verb: Verb) -> list[str]:
        return self._noun_phrase(d, verb.categories, subject=False, head=verb.base).words

    def _extras(
        self, d: _Draw, place: float, motion: bool = False, head: str | None = None
    ) -> list[str]:
        """An optional place phrase (probability ``place``, more when rich) and time."""
        words: list[str] = []
        if d.rng.random() < place + 0.3 * d.rich:
            words += self._place_phrase(d, motion, head)
        if d.rng.random() < 0.05 + 0.25 * d.rich:
            words += self._time(d)
        return words

    def _transitive_clause(self, d: _Draw) -> list[str]:
        verb = self.transitive_pool.draw(d.rng)
        subject = self._subject(d, animals=0.1)
        tense = self._tense(d, verb, subject.person, subject.number)
        extras = self._extras(d, 0.05, head=verb.base)
        return [*subject.words, *tense, *self._object(d, verb), *extras]

    def _intransitive_clause(self, d: _Draw) -> list[str]:
        subject = self._subject(d)
        pool = self._pool(d, self.intransitive_by_subject, subject.category, subject.head)
        verb = pool.draw(d.rng)
        words = [*subject.words, *self._tense(d, verb, subject.person, subject.number)]
        motion = verb.base in _MOTION
        if not motion and d.rng.random() < 0.25:
            words.append(self._pool(d, self.manners, "manner", verb.base).draw(d.rng))
        return words + self._extras(d, 0.5 if motion else 0.25, motion, verb.base)

    def _copula_adjective(self, d: _Draw) -> list[str]:
        category = self._category(d, ("person", "animal", "food", "thing", "place", "drink"))
        subject = self._noun_phrase(d, (category,), subject=True)
        adjective = self.adjectives[category].draw(d.rng)
        words = [*subject.words, self._be(d, subject.person, subject.number), adjective]
        return words + self._extras(d, 0.0)

    def _copula_place(self, d: _Draw) -> list[str]:
        subject = self._noun_phrase(
            d, ("person", "animal", "thing", "container", "vehicle"), subject=True
        )
        be = self._be(d, subject.person, subject.number)
        return [*subject.words, be, *self._place_phrase(d, motion=False)]

    def _there_is(self, d: _Draw) -> list[str]:
        thing = self._noun_phrase(d, ("thing", "animal", "food", "container"), subject=False)
        if len(thing.words) == 1 and thing.words[0] in ("it", "them"):
            thing = Phrase(["a", "dog"], 3, "sg", "animal")
        be = self._be(d, 3, thing.number)
        return ["there", be, *thing.words, *self._place_phrase(d, False)]

    def _control_clause(self, d: _Draw) -> list[str]:
        subject = self._subject(d)
        base, past = self.control.draw(d.rng)
        if d.rng.random() < 0.6:
            head = past
        else:
            head = _third(base) if subject.person == 3 and subject.number == "sg" else base
        verb = self.transitive_pool.draw(d.rng)
        return [*subject.words, head, "to", verb.base, *self._object(d, verb)]

    def _question(self, d: _Draw) -> list[str]:
        r = d.rng.random()
        verb = self.transitive_pool.draw(d.rng)
        if r < 0.2:
            thing = self._noun_phrase(
                d, ("person", "animal", "thing", "container", "clothing"), subject=True
            )
            return ["where", self._be(d, thing.person, thing.number), *thing.words]
        if r < 0.4:
            return ["did", *self._subject(d).words, verb.base, *self._object(d, verb)]
        if r < 0.6:
            return [self.modals.draw(d.rng), "you", verb.base, *self._object(d, verb)]
        if r < 0.75:
            return ["what", "did", *self._subject(d).words, verb.base]
        if r < 0.9:
            return ["who", verb.past, *self._object(d, verb)]
        category = self._category(d, ("person", "animal", "food", "thing"))
        subject = self._noun_phrase(d, (category,), subject=True)
        adjective = self.adjectives[category].draw(d.rng)
        return [self._be(d, subject.person, subject.number), *subject.words, adjective]

    def _imperative(self, d: _Draw) -> list[str]:
        verb = self.transitive_pool.draw(d.rng)
        r = d.rng.random()
        head = ["please"] if r < 0.25 else ["do", "not"] if r < 0.35 else []
        return [*head, verb.base, *self._object(d, verb), *self._extras(d, 0.1)]

    def _weather(self, d: _Draw) -> list[str]:
        if d.rng.random() < 0.3:
            words = ["it", _WEATHER_VERBS[int(d.rng.integers(0, len(_WEATHER_VERBS)))]]
        else:
            words = ["it", self._be(d, 3, "sg"), self.weather.draw(d.rng)]
        if d.rng.random() < 0.3 + 0.5 * d.rich:
            words += self._time(d)
        return words

    def _compound(self, d: _Draw) -> list[str]:
        first = self._simple_clause(d)
        conjunction = list(self.conjunctions.draw(d.rng))
        return [*first, *conjunction, *self._simple_clause(d)]

    def _simple_clause(self, d: _Draw) -> list[str]:
        clause = self._transitive_clause if d.rng.random() < 0.55 else self._intransitive_clause
        return clause(d)

    # ------------------------------------------------------------------ sentences

    def _draw(self, d: _Draw) -> list[str]:
        i = bisect.bisect_right(self.clause_cumulative, d.rng.random())
        words = self.clauses[min(i, len(self.clauses) - 1)][1](d)
        if d.rng.random() < 0.02 + 0.05 * d.rich:
            words = [*self._time(d), *words]
        return words

    def _compound_of(self, d: _Draw, n_words: int) -> list[str]:
        """Two clauses and a conjunction, the second drawn until the total is ``n_words``."""
        first = [*self._simple_clause(d), *self.conjunctions.draw(d.rng)]
        second: list[str] = []
        for _ in range(_CLAUSE_TRIES):
            second = self._simple_clause(d)
            if len(first) + len(second) == n_words:
                break
        return first + second

    def sentence(self, rng: np.random.Generator, n_words: int) -> tuple[str, ...]:
        """Draw sentences until one has ``n_words`` words (at most 200 tries).

        Longer wanted sentences draw optional phrases (adjectives, places,
        times) and two-clause sentences more often, so that few tries are needed.

        Args:
            rng: The generator the choices come from.
            n_words: Wanted length; after 200 tries the closest sentence drawn is kept.

        Returns:
            The words, lower case.
        """
        d = _Draw(rng, max(0.0, (n_words - 5) / 6))
        halves = _Draw(rng, max(0.0, (n_words / 2 - 4) / 4))
        compound = 0.0 if n_words < 7 else min(0.6, 0.12 * (n_words - 6))
        best: list[str] = []
        for _ in range(_MAX_TRIES):
            words = self._compound_of(halves, n_words) if rng.random() < compound else self._draw(d)
            if len(words) == n_words:
                return tuple(words)
            if not best or abs(len(words) - n_words) < abs(len(best) - n_words):
                best = words
        return tuple(best)


def pause_allowed(words: Sequence[str]) -> list[bool]:
    """Where a pause (a comma) may follow each word but the last: not inside a phrase.

    Not after a function word that needs what follows (a determiner, a
    preposition, "to", an auxiliary, a pronoun subject) nor after an
    adjective before its noun.

    Example:
        >>> pause_allowed(["the", "old", "man", "slept", "and", "we", "ran"])
        [False, False, True, True, False, False]
    """
    return [
        word not in _BOUND and not (word in _ADJECTIVE_WORDS and following not in _BOUND)
        for word, following in itertools.pairwise(words)
    ]


@functools.cache
def text_model() -> TextModel:
    """The one :class:`TextModel` of the process (it is immutable)."""
    return TextModel()


def _vocabulary() -> tuple[str, ...]:
    words: set[str] = set()
    for nouns in _parse_nouns(_words.NOUNS).values():
        for noun in nouns:
            words.update(w for w in (noun.singular, noun.plural) if w)
    for verb in [*_parse_verbs(_words.TRANSITIVE), *_parse_verbs(_words.INTRANSITIVE)]:
        words.update((verb.base, verb.third, verb.past, verb.participle))
    for base, past in _CONTROL:
        words.update((base, _third(base), past))
    words.update(
        w for adjectives in _parse_adjectives(_words.ADJECTIVES).values() for w in adjectives
    )
    tables = (_words.ADVERBS_MANNER, _words.ADVERBS_FREQUENCY, _words.TIMES, _words.WEEKDAYS,
              _words.NAMES)  # fmt: skip
    words.update(w for table in tables for w in table.split() if w != "|")
    words.update(p[0] for choices in _SUBJECT_PRONOUNS.values() for p in choices)
    words.update(*_OBJECT_PRONOUNS.values())
    words.update(_INDEFINITES, _DET_SINGULAR, _DET_PLURAL, _DET_MASS, _PLACE_PREPOSITIONS,
                 _MOTION_PREPOSITIONS, _MODALS, _WEATHER, _WEATHER_VERBS)  # fmt: skip
    words.update(w for c in _CONJUNCTIONS for w in c.split())
    words.update(("an", "a", "am", "is", "are", "was", "were", "has", "have", "did", "do",
                  "not", "please", "there", "where", "what", "who", "to", "with", "from",
                  "on"))  # fmt: skip
    return tuple(sorted(words))


#: Every word the text model can produce, sorted.
VOCABULARY: tuple[str, ...] = _vocabulary()
_ADJECTIVE_WORDS = frozenset(
    w for adjectives in _parse_adjectives(_words.ADJECTIVES).values() for w in adjectives
) | frozenset(_WEATHER)
_BOUND = frozenset(
    [*_DET_SINGULAR, *_DET_PLURAL, *_DET_MASS, *_PLACE_PREPOSITIONS, *_MOTION_PREPOSITIONS,
     *_MODALS, *(w for c in _CONJUNCTIONS for w in c.split()),
     *(p[0] for choices in _SUBJECT_PRONOUNS.values() for p in choices),
     "a", "an", "to", "do", "not", "did", "please", "there", "where", "what", "who", "am",
     "is", "are", "was", "were", "has", "have", "with", "on", "every", "last", "next", "this",
     "at", "in"]
)  # fmt: skip
