"""edge/logs.py: the one JSON line of a miss, on a clock the test sets."""

import json
import types

import pytest

from edge import logs


@pytest.fixture
def clock(monkeypatch):
    """edge.logs' perf_counter, reading the seconds the test puts in now[0]."""
    now = [100.0]
    monkeypatch.setattr(logs, "time", types.SimpleNamespace(perf_counter=lambda: now[0]))
    return now


def emitted(log: logs.MissLog, capsys) -> tuple[str, dict]:
    log.emit()
    out = capsys.readouterr().out
    return out, json.loads(out)


def test_one_line_with_the_time_since_the_miss_began(clock, capsys):
    log = logs.MissLog(uri="/640x/cat.jpg", method="GET", request_id="abc==", started=100.0)
    clock[0] = 100.2505
    out, record = emitted(log, capsys)
    assert out.endswith("}\n") and out.count("\n") == 1
    assert record == {"uri": "/640x/cat.jpg", "method": "GET", "request_id": "abc==", "status": 0, "ms": 250.5}


def test_each_phase_is_timed_in_milliseconds_even_when_it_fails(clock, capsys):
    log = logs.MissLog(uri="/640x/cat.jpg", method="GET", started=100.0)
    with log.timed("read"):
        clock[0] = 100.012
    with pytest.raises(RuntimeError), log.timed("render"):
        clock[0] = 100.5004
        raise RuntimeError
    assert log.phase_ms == {"read": 12.0, "render": 488.4}
    assert emitted(log, capsys)[1]["phase_ms"] == {"read": 12.0, "render": 488.4}


def test_empty_fields_are_left_out_but_false_and_zero_are_kept(clock, capsys):
    log = logs.MissLog(uri="/640x/cat.jpg", method="HEAD", started=100.0, bytes_out=0, stored=False, detail="")
    record = emitted(log, capsys)[1]
    assert record["stored"] is False and record["bytes_out"] == 0
    assert not {"detail", "spec", "error", "trace", "phase_ms", "request_id", "started"} & record.keys()


def test_a_key_outside_ascii_is_written_as_itself(clock, capsys):
    """So that the line reads, and is searched, as the key the viewer asked for."""
    out, record = emitted(logs.MissLog(uri="/640x/caf%C3%A9.jpg", method="GET", started=100.0,
                                      derivative_key="640x/café.jpg"), capsys)
    assert '"derivative_key": "640x/café.jpg"' in out and record["derivative_key"] == "640x/café.jpg"


@pytest.mark.parametrize("separator", ["\x85", "\u2028", "\u2029"])
def test_a_key_holding_a_unicode_line_break_stays_one_line(clock, capsys, separator):
    """json.dumps writes these as they are (it escapes only ASCII controls), and str.splitlines(), as some log
    readers do, breaks a line at each: a viewer's key (/640x/a%E2%80%A8b.jpg) would cut the record in two."""
    key = f"640x/a{separator}b.jpg"
    out, record = emitted(logs.MissLog(uri="/640x/a%E2%80%A8b.jpg", method="GET", started=100.0,
                                      derivative_key=key), capsys)
    assert len(out.splitlines()) == 1 and record["derivative_key"] == key


def test_milliseconds_are_written_to_a_tenth(clock, capsys):
    log = logs.MissLog(uri="/640x/cat.jpg", method="GET", started=100.0)
    with log.timed("read"):
        clock[0] = 100.01234
    clock[0] = 100.05678
    record = emitted(log, capsys)[1]
    assert (record["phase_ms"], record["ms"]) == ({"read": 12.3}, 56.8)


def test_the_fields_keep_their_order_the_request_first_and_the_time_last(clock, capsys):
    """The line begins as docs/LOCAL.md shows it (uri, method, request_id, status), so that a raw line in
    CloudWatch reads from what was asked to what became of it; sorted keys would begin it with bytes_in."""
    log = logs.MissLog(uri="/640x/cat.jpg", method="GET", request_id="abc==", started=100.0, status=200, spec="640x",
                       derivative_key="640x/cat.jpg", bytes_in=2048, bytes_out=512, output="webp", width=640,
                       height=480, frames=1, stored=True)
    with log.timed("read"):
        clock[0] = 100.01
    assert list(emitted(log, capsys)[1]) == ["uri", "method", "request_id", "status", "spec", "derivative_key",
                                             "bytes_in", "bytes_out", "output", "width", "height", "frames",
                                             "stored", "phase_ms", "ms"]
