"""The Python kernel of the course's JupyterLab: ipykernel's, with its control lock made before it is needed.

ipykernel (6.30 and later, 7.x too) processes control messages one at a time under a lock,
``Kernel._control_lock``, which ``Kernel.start()`` makes only *after* it has started listening on the
control channel, whose messages are handled by a thread of its own. A control message that is already
waiting is then handled before the lock exists, and the kernel logs ``TraitError: The '_control_lock' trait
of an IPythonKernel instance expected a Lock, not the NoneType None`` (ipython/ipykernel issue 1567).
JupyterLab sends such a message at every kernel restart (its debugger asks the new kernel about itself
over the control channel), so ``make lab``'s terminal showed that traceback after restarts.

:class:`CourseKernel` makes the lock when the kernel object is made, before anything listens, and keeps
that one lock when ``start()`` makes another. The kernelspec of ``make lab``
(``lab_data/kernels/python3/kernel.json``, found first on ``JUPYTER_PATH``) starts ipykernel with it.
"""

from __future__ import annotations

import asyncio

from ipykernel.ipkernel import IPythonKernel

__all__ = ["CourseKernel"]


class CourseKernel(IPythonKernel):
    """IPython's kernel, whose control lock exists from the start (see the module docstring).

    Examples::

        >>> from ipykernel.ipkernel import IPythonKernel
        >>> issubclass(CourseKernel, IPythonKernel)
        True
    """

    def __init__(self, **kwargs):
        self._first_control_lock = asyncio.Lock()
        super().__init__(**kwargs)

    @property
    def _control_lock(self) -> asyncio.Lock:
        """The lock under which control messages are handled, one at a time: always the first one made."""
        return self._first_control_lock

    @_control_lock.setter
    def _control_lock(self, lock: asyncio.Lock) -> None:
        """``Kernel.start()`` makes a new lock after the control channel may already be in use: keep the first."""
