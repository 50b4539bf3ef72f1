"""A small LRU of filtered-and-ordered list selections: paging through one query filters once.

Keys carry the books' `version`, so any data change makes old selections unreachable.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from typing import Any

Selection = tuple[list[dict[str, Any]], list[str] | None]


class SelectionCache:
    """The last `size` selections by key (records after `$filter`/`$orderby`, plus the `$select` fields)."""

    def __init__(self, *, size: int = 16) -> None:
        self._entries: OrderedDict[Hashable, Selection] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> Selection | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
            return entry

    def put(self, key: Hashable, entry: Selection) -> None:
        with self._lock:
            self._entries[key] = entry
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)
