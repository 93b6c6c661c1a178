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


def state_bytes(
    width: int, vocab: int, nodes: int, model_int: int = 1, model_float: int = 1
) -> int:
    """Bytes :func:`.state.new_state` allocates for these sizes."""
    trie = nodes * (4 * (6 + model_int) + 8 * (1 + model_float))
    recs = 2 * nodes * (3 * 4 + 8)
    beams = 3 * width * (4 * 4 + 5 * 8) + 8 * width
    work = width * vocab * 4 + 4 * width * 24 + 2 * vocab * 4
    return trie + recs + beams + work + 8 * (N_COUNTS + 1)
