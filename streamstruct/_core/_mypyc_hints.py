"""``mypyc_attr``, for the compiled modules, without ``mypy_extensions`` at run time.

Core layer (standard library only). mypyc reads ``@mypyc_attr(...)`` on a class when it compiles
it (it sees ``mypy_extensions.mypyc_attr`` through this module); at run time the decorator does
nothing, so neither build needs ``mypy_extensions`` installed. Not compiled itself: mypyc takes
the ``else`` branch below for unreachable and would raise there.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["mypyc_attr"]

if TYPE_CHECKING:
    from mypy_extensions import mypyc_attr as mypyc_attr
else:

    def mypyc_attr(**_attrs: object) -> Any:
        return lambda cls: cls
