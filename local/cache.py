"""CloudFront's edge cache, reduced to what shows the product's caching: Cache-Control decides.

A response is kept for its `s-maxage` (which CloudFront prefers) or `max-age`,
and never when it says `no-store`, `no-cache` or `private`. A response with
neither is not kept: that is stricter than CloudFront, whose cache policy would
apply a default TTL, and it keeps every answer that the function did not mean
to be cached visibly uncached.
"""

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

UNCACHEABLE = frozenset({"no-store", "no-cache", "private"})
DEFAULT_MAX_BYTES = 64 * 1024 * 1024


def ttl_seconds(cache_control: str | None) -> int | None:
    """How long a response may be cached, or None if it may not be."""
    directives = {}
    for directive in (cache_control or "").lower().split(","):
        name, _, argument = directive.strip().partition("=")
        directives[name] = argument.strip().strip('"')
    if UNCACHEABLE & directives.keys():
        return None
    for name in ("s-maxage", "max-age"):
        if directives.get(name, "").isdigit():
            seconds = int(directives[name])
            return seconds if seconds > 0 else None
    return None


@dataclass(frozen=True)
class Entry[Value]:
    value: Value
    size: int
    stored: float
    expires: float


class ResponseCache[Value]:
    """A thread-safe TTL cache, bounded in bytes, evicting the least recently used entry first."""

    def __init__(self, max_bytes: int = DEFAULT_MAX_BYTES, clock: Callable[[], float] = time.monotonic):
        self._entries: OrderedDict[str, Entry[Value]] = OrderedDict()
        self._bytes = 0
        self._max_bytes = max_bytes
        self._clock = clock
        self._lock = threading.Lock()

    def get(self, key: str) -> tuple[Value, int] | None:
        """The cached value and its age in whole seconds, if it is still fresh."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            now = self._clock()
            if now >= entry.expires:
                self._remove(key)
                return None
            self._entries.move_to_end(key)
            return entry.value, int(now - entry.stored)

    def put(self, key: str, value: Value, size: int, cache_control: str | None) -> bool:
        """Keep the value if its Cache-Control allows; returns whether it was kept."""
        ttl = ttl_seconds(cache_control)
        if ttl is None or size > self._max_bytes:
            return False
        now = self._clock()
        with self._lock:
            if key in self._entries:
                self._remove(key)
            self._entries[key] = Entry(value, size, now, now + ttl)
            self._bytes += size
            while self._bytes > self._max_bytes:
                self._remove(next(iter(self._entries)))
        return True

    def _remove(self, key: str) -> None:
        self._bytes -= self._entries.pop(key).size
