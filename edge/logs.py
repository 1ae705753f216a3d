"""One JSON line per handled miss. Internal details go here, never into a response body."""

import json
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field

# Line breaks to str.splitlines() and to some log readers, which json.dumps(ensure_ascii=False) writes as they are
# (it escapes only ASCII controls): escaped, so that a viewer's key holding one cannot cut the record in two.
_UNICODE_LINE_BREAKS = str.maketrans({"\x85": "\\u0085", "\u2028": "\\u2028", "\u2029": "\\u2029"})


@dataclass
class MissLog:
    uri: str
    method: str
    request_id: str = ""
    started: float = field(default_factory=time.perf_counter)
    status: int = 0
    spec: str | None = None
    derivative_key: str | None = None
    bytes_in: int | None = None
    bytes_out: int | None = None
    output: str | None = None
    width: int | None = None
    height: int | None = None
    frames: int | None = None
    stored: bool | None = None
    error: str | None = None  # the EdgeError's code, e.g. bad_request, source_too_large, unavailable
    detail: str | None = None
    trace: str | None = None  # an unexpected exception's traceback
    phase_ms: dict[str, float] = field(default_factory=dict)  # read, render, store: where a slow miss spent it

    @contextmanager
    def timed(self, phase: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.phase_ms[phase] = round((time.perf_counter() - started) * 1000, 1)

    def emit(self) -> None:
        record = {name: value for name, value in asdict(self).items() if value not in (None, "", {})}
        del record["started"]
        record["ms"] = round((time.perf_counter() - self.started) * 1000, 1)
        sys.stdout.write(json.dumps(record, ensure_ascii=False).translate(_UNICODE_LINE_BREAKS) + "\n")
