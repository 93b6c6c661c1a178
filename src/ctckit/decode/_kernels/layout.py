"""The search state's scalar slots and its size, without Numba (private).

Kept apart from :mod:`.state` so that the Python façade can check a search's memory
before anything is compiled or allocated.
"""

from __future__ import annotations

# counts[...] of a SearchState
C_BEAMS = 0  # beams in the current slot (0: every labelling has probability 0)
C_NODES = 1  # trie nodes in use
C_RECS = 2  # emission records in use
C_CUR = 3  # slot of the current beam
C_STAY = 4  # slot of the stays
C_NEXT = 5  # slot of the next beam
C_SETTLED = 6  # 1 inside a blank run (every beam ends in a blank; shift pending)
C_MARK = 7  # the last frame mark written to Work.stamp
C_FRAMES = 8  # frames searched so far (the absolute index of the next frame)
N_COUNTS = 9

MAX_MARK = 2**31 - 2  # stamps are int32: past this the stamp array is cleared

# the header of a state's int64 buffer (see flat_sizes): the sizes its views are cut by,
# and the most frames a stream may search (the memory check's bound, set by its owner)
H_NODES = 0
H_WIDTH = 1
H_VOCAB = 2
H_MODEL_INT = 3
H_MODEL_FLOAT = 4
H_FRAME_LIMIT = 5
N_HEADER = 6


def node_parts(nodes: int, model_int: int, model_float: int) -> tuple[int, int]:
    """Entries of the int32 and float64 buffers sized by ``nodes`` (the trie, the
    records), which come first in each (see :func:`flat_sizes`)."""
    return (6 + model_int) * nodes + 3 * 2 * nodes, (1 + model_float) * nodes + 2 * nodes


def fixed_parts(width: int, vocab: int) -> tuple[int, int, int]:
    """Entries of the three buffers after the parts :func:`node_parts` counts."""
    ints = 4 * 3 * width + width * vocab + 2 * vocab
    floats = 5 * 3 * width + width + 2 * 4 * width + 1
    return ints, floats, N_HEADER + N_COUNTS + 4 * width


def flat_sizes(
    width: int, vocab: int, nodes: int, model_int: int, model_float: int
) -> tuple[int, int, int]:
    """Entries of a search state's three flat buffers (int32, float64, int64).

    The parts, in order (the parts sized by ``nodes`` first, so that a state grown for
    more nodes copies its fixed-size tail in one piece):

    * int32: the trie's ``6 + model_int`` rows and the records' 3 rows (``2 * nodes``
      each), the beams' 4 fields (3 slots of ``W``), ``stamp`` (``W * V``), the 2 token
      lists (``V`` each);
    * float64: the trie's ``1 + model_float`` rows, the records' ``logp``, the beams' 5
      fields (3 slots), ``rank`` (``W``), the selection's ``bs`` and ``tmp`` (``4 W``
      each), ``shift`` (1);
    * int64: the header (``N_HEADER``: nodes, ``W``, ``V``, the model row counts, the frame
      limit), the counts (``N_COUNTS``), the selection's ``bid`` (``4 W``).
    """
    ints, floats = node_parts(nodes, model_int, model_float)
    fixed = fixed_parts(width, vocab)
    return ints + fixed[0], floats + fixed[1], fixed[2]


def state_bytes(
    width: int, vocab: int, nodes: int, model_int: int = 1, model_float: int = 1
) -> int:
    """Bytes :func:`.state.new_flat` allocates for one search state of these sizes."""
    ints, floats, longs = flat_sizes(width, vocab, nodes, model_int, model_float)
    return 4 * ints + 8 * (floats + longs)
