"""Metadata filters a question can be restricted by (source, region, date range)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from knowledge.errors import ConfigError

__all__ = ["Filters"]

_ISO = re.compile(r"^\d{4}(?:-(0[1-9]|1[0-2])(?:-(0[1-9]|[12]\d|3[01]))?)?$")


@dataclass(frozen=True)
class Filters:
    """Restrict retrieval to some documents.

    `sources`: substrings matched against a chunk's source path or doc id.
    `regions`: canonical region names (e.g. "Centre-Val de Loire"); a chunk matches
    when its document mentions any of them. `date_from`/`date_to`: ISO dates
    (YYYY, YYYY-MM or YYYY-MM-DD), inclusive, compared with the document's date;
    documents without a date are excluded when a date bound is given.

    >>> Filters(regions=("Grand Est",)).is_empty
    False
    """

    sources: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    date_from: str | None = None
    date_to: str | None = None

    def __post_init__(self) -> None:
        for name in ("date_from", "date_to"):
            value = getattr(self, name)
            if value is not None and not _ISO.match(value):
                raise ConfigError(f"{name}: expected YYYY, YYYY-MM or YYYY-MM-DD, got {value!r}")

    @property
    def is_empty(self) -> bool:
        return not (self.sources or self.regions or self.date_from or self.date_to)
