"""An atomic counter for Numba kernels that share work between threads (private).

Kernels that split a batch into fixed shares (every n-th utterance) wait for the
slowest share: utterances differ in work, and on a shared host one core can run
slower than the other for seconds. Threads that instead take the next utterance
from one counter, each as it finishes the last, end within one utterance of each
other. Numba has no atomics on the CPU, so :func:`fetch_add` emits LLVM's
``atomicrmw`` itself. :func:`spin_until_set` polls a flag with it, without the
GIL, for the thread pool's workers.
"""

from __future__ import annotations

from typing import Any

from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

__all__ = ["fetch_add", "spin_until_set"]


def _fetch_add(typingctx: Any, counter: Any, value: Any) -> Any:
    """Add ``value`` to ``counter[0]`` (a 1-D int64 array) atomically; the value before.

    Usable only inside Numba-compiled code (``counter`` shared by the threads that
    run the kernel, each taking ``fetch_add(counter, 1)`` as its next item).
    """
    if not (
        isinstance(counter, types.Array)
        and counter.ndim == 1
        and counter.dtype == types.int64
        and isinstance(value, types.Integer)
    ):
        return None

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        array_type = signature.args[0]
        array = context.make_array(array_type)(context, builder, args[0])
        first = [context.get_constant(types.intp, 0)]
        ptr = cgutils.get_item_pointer(context, builder, array_type, array, first)  # type: ignore[no-untyped-call]
        amount = context.cast(builder, args[1], signature.args[1], types.int64)
        return builder.atomic_rmw("add", ptr, amount, "seq_cst")

    return types.int64(counter, value), codegen


fetch_add: Any = intrinsic(_fetch_add)  # typed by Numba, not by mypy


@njit(cache=True, nogil=True)
def spin_until_set(flag, rounds):  # type: ignore[no-untyped-def]
    """Poll ``flag[0]`` (a 1-D int64 array another thread sets) up to ``rounds`` times
    without the GIL; whether it became nonzero. An atomic read each time (``fetch_add``
    of 0), which the compiler cannot hoist out of the loop as it would a plain load."""
    for _ in range(rounds):  # noqa: SIM110 (a loop: Numba compiles no any() over a generator)
        if fetch_add(flag, 0) != 0:
            return True
    return False
