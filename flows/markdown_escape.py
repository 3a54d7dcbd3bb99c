"""Outside text shown in markdown as text: alert names, approver names, timeline messages.

An alert's name is whatever its sender wrote, and an approver's name whatever was typed in a
form; put into a postmortem or an approval form unescaped, ``[x](https://...)`` becomes a link,
``|`` a new table cell and ``<img ...>`` HTML. :func:`escape_markdown` makes each of them
literal text.
"""

from __future__ import annotations

import re

_SPECIAL = re.compile(r"([\\`*_{}\[\]()#!|<>~])")
_LIST_MARKER = re.compile(r"^(\s*)([-+]|\d+[.)])")


def escape_markdown(text: str) -> str:
    r"""``text`` on one line, with every character markdown or HTML would act on escaped
    (a leading list marker too); a plain name is unchanged.

    >>> escape_markdown("[x](y) | *z*")
    '\\[x\\]\\(y\\) \\| \\*z\\*'
    >>> escape_markdown("checkout-prod-5xx")
    'checkout-prod-5xx'
    """
    escaped = _SPECIAL.sub(r"\\\1", " ".join(text.splitlines()))
    return _LIST_MARKER.sub(lambda m: f"{m.group(1)}\\{m.group(2)}", escaped)
