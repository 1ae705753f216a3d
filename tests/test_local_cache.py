"""local.cache: CloudFront's edge cache as the emulator keeps it, Cache-Control deciding, bounded in bytes."""

import pytest

from local.cache import ResponseCache, ttl_seconds


@pytest.mark.parametrize(
    ("cache_control", "ttl"),
    [
        ("public, max-age=31536000, immutable", 31536000),
        ("public, max-age=60, s-maxage=5", 5),
        ("max-age=1", 1),
        ("no-store", None),
        ("no-store, max-age=60", None),
        ("no-cache, max-age=60", None),
        ("max-age=60, private", None),
        ("max-age=0", None),
        (None, None),
        ('max-age="30"', 30),
    ],
)
def test_cache_lifetime_from_cache_control(cache_control, ttl):
    assert ttl_seconds(cache_control) == ttl


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def cache(clock) -> ResponseCache:
    return ResponseCache(max_bytes=10, clock=clock)


def test_the_cache_expires_entries_and_stays_within_its_size(cache, clock):
    assert cache.put("a", "A", 6, "max-age=5") is True
    assert cache.put("b", "B", 6, "no-store") is False
    assert cache.get("a") == ("A", 0)
    cache.put("c", "C", 6, "max-age=60")  # over 10 bytes: the least recently used goes
    assert cache.get("a") is None
    clock.now = 61
    assert cache.get("c") is None


def test_an_entry_is_stale_at_the_moment_it_expires_and_aged_in_whole_seconds(cache, clock):
    clock.now = 100  # the age and the expiry count from when it was stored, not from the clock's zero
    cache.put("a", "A", 1, "max-age=5")
    clock.now = 104.9
    assert cache.get("a") == ("A", 4)
    clock.now = 105
    assert cache.get("a") is None


def test_entries_fill_the_cache_to_its_size_exactly(cache):
    cache.put("a", "A", 5, "max-age=60")
    cache.put("b", "B", 5, "max-age=60")
    assert cache.get("a") == ("A", 0) and cache.get("b") == ("B", 0)
    assert cache.put("c", "C", 1, "max-age=60")  # one byte over: the least recently used, a, goes
    assert cache.get("a") is None and cache.get("b") == ("B", 0)


def test_an_entry_as_large_as_the_cache_is_kept_and_a_larger_one_refused_without_evicting(cache):
    assert cache.put("whole", "W", 10, "max-age=60")
    assert cache.put("a", "A", 4, "max-age=60")
    assert cache.put("big", "B", 11, "max-age=60") is False
    assert cache.get("a") == ("A", 0) and cache.get("big") is None


def test_a_read_makes_an_entry_the_most_recently_used(cache):
    cache.put("a", "A", 4, "max-age=60")
    cache.put("b", "B", 4, "max-age=60")
    cache.get("a")
    cache.put("c", "C", 4, "max-age=60")
    assert cache.get("a") == ("A", 0) and cache.get("b") is None


def test_putting_a_key_again_replaces_it_and_its_size(cache):
    cache.put("a", "old", 6, "max-age=60")
    cache.put("a", "new", 6, "max-age=60")
    assert cache.get("a") == ("new", 0)


def test_an_expired_entry_read_gives_back_its_bytes(cache, clock):
    cache.put("a", "A", 4, "max-age=5")
    cache.put("b", "B", 4, "max-age=60")
    cache.get("a")  # b is now the least recently used
    clock.now = 6
    assert cache.get("a") is None
    cache.put("c", "C", 4, "max-age=60")  # fits beside b only if a's 4 bytes were given back
    assert cache.get("b") == ("B", 6)


def test_by_default_the_cache_holds_64_mib():
    """Sizes are only counted, so that no bytes are needed: a default cache keeps an answer of 64 MiB, not more."""
    cache = ResponseCache()
    assert cache.put("a", "A", 64 * 1024 * 1024, "max-age=60")
    assert cache.put("b", "B", 64 * 1024 * 1024 + 1, "max-age=60") is False
