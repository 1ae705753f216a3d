"""One JSON line per handled miss. Internal details go here, never into a response body."""

import json
import sys
import time
from dataclasses import asdict, dataclass, field


@dataclass
class MissLog:
    uri: str
    method: str
    started: float = field(default_factory=time.perf_counter)
    status: int = 0
    spec: str | None = None
    derivative_key: str | None = None
    bytes_in: int | None = None
    bytes_out: int | None = None
    output: str | None = None
    stored: bool | None = None
    error: str | None = None  # the EdgeError's code, e.g. bad_request, source_too_large, unavailable
    detail: str | None = None
    trace: str | None = None  # an unexpected exception's traceback

    def emit(self) -> None:
        record = {name: value for name, value in asdict(self).items() if value is not None and name != "started"}
        record["ms"] = round((time.perf_counter() - self.started) * 1000, 1)
        sys.stdout.write(json.dumps(record, ensure_ascii=False) + "\n")
