"""Numba kernels of the CTC prefix beam search (private).

Everything here is compiled with ``@njit(cache=True, nogil=True)``; the small functions
are inlined (``inline="always"``: a call that passes arrays would cost reference count
updates). The Python façade (:mod:`ctckit.decode.beam`) checks the input once; the
kernels trust it.

The boundary
============

Three typed bundles cross it, never long positional lists:

* :class:`~.state.SearchOptions` (blank, beam width, N-best size, pruning), the same for
  every kind of search;
* a *scorer*: the tables and weights of one kind of search, here
  :class:`~.fusion.TokenFusion` (the :class:`~ctckit.lm.LMTables` arrays as they are, the
  LM weight and the insertion bonus);
* a :class:`~.state.SearchState`: the trie of prefixes, the emission records, the beam and
  the scratch buffers, with the scalars in a small array, all views of three flat buffers.
  A search can stop after any frame and go on later from it, which is how
  :func:`~.streams.feed_streams` streams (the flat buffers cross in, the views are cut
  again inside).

The stages
==========

:func:`~.search.advance` runs, per frame (modules in brackets):

1. read the frame: the input check, token pruning, blank runs ([frames], [stays]);
2. rank the stays: each prefix unchanged by a blank or a repeat, merged with its parent's
   extension by its last token ([stays]);
3. the candidate tokens: those that could extend some beam into the selection
   ([candidates]);
4. select the ``W`` best stays and extensions ([select]);
5. commit the survivors: the next beam, new trie nodes, emission records ([commit]);

and, when hypotheses are read, the backtrace of the ``N`` best ([backtrace]).

Per-prefix state, and how a new search adds to it
==================================================

A beam is a trie node plus its acoustic state (``pb``, ``pnb``, best-path scores and
emission records: :class:`~.state.Beams`). Whatever else a search knows about a prefix
lives in the node, so that merging by node id stays exact: the trie's ``model_int`` /
``model_float`` rows (as many as the scorer asks for: ``MODEL_ROWS``) and its rank term
``extra`` (``rank = acoustic + extra[node]``). The token search keeps the LM state and LM
score there (:mod:`.fusion`); a word search keeps a word-LM state, a partial-word or
lexicon trie node and a hotword automaton state, with their scores.

Shared by every search, unchanged: the state and its allocation (:mod:`.state`,
:mod:`.layout`), reading a frame (:mod:`.frames`), blank runs
(:func:`~.stays.start_blank_run`, :func:`~.stays.add_shift`), the no-stay shortcut
(:func:`~.stays.no_stay_possible`), the entry threshold and candidate tokens
(:mod:`.candidates`), the stays-only frame (:func:`~.select.keep_stays`) and the selection
primitives (:mod:`.numeric`). Written per scorer: ranking the stays, the selection loop,
the commit and the backtrace, since they read the scorer's rows (the token search's in
:mod:`.stays`, :mod:`.select`, :mod:`.commit`, :mod:`.backtrace`). A search whose
(beam, token) extension can become several prefixes (a lexicon decoder: the token
continues a word or ends one of the homophones ending at that trie node) keys its nodes
on (parent, token, variant) and carries the variant in the selection id.

Why the stages are plain inlined functions with the scorer's functions called by name,
rather than ``numba.extending.overload`` hooks dispatched on the scorer's type: Numba
0.68 mis-compiles overloads inlined into these loops (wrong indices; tried), and
overloads it does not inline cost a call per candidate. :func:`~.search.advance` runs
without Numba's reference counting (``_nrt=False``): every array is its caller's, and
the counts that binding a bundle's arrays in each stage would add cost as much as the
search itself (figures in ``docs/benchmarks/decoders.md``). Keep ``max()`` of mixed
dtypes out of the loops: Numba calls it out of line.

The package imports nothing itself: import the module you need (:mod:`.layout` is free
of Numba, for checks made before anything is compiled). Numba's on-disk cache checks
only the source file of the function it compiled: after editing a stage module, delete
the ``__pycache__/*.nbi`` files of this package (a fresh install is unaffected).
"""
