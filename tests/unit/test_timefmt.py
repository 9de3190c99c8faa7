"""Times written as Podman writes them (Go's RFC3339Nano and time.Time.String())."""

import time

import pytest

from otter import timefmt


@pytest.fixture
def tz(monkeypatch):
    def set_zone(name: str) -> None:
        monkeypatch.setenv("TZ", name)
        time.tzset()
    yield set_zone
    monkeypatch.undo()
    time.tzset()


def test_rfc3339_is_utc_with_trailing_zeros_dropped(tz):
    tz("Europe/Paris")
    assert timefmt.rfc3339(1764745468.5) == "2025-12-03T07:04:28.5Z"
    assert timefmt.rfc3339(1764745468.123456) == "2025-12-03T07:04:28.123456Z"
    assert timefmt.rfc3339(1764745468.0) == "2025-12-03T07:04:28Z"
    assert timefmt.rfc3339(0) == "0001-01-01T00:00:00Z"


def test_rfc3339_local(tz):
    tz("UTC")
    assert timefmt.rfc3339_local(1764745468.5) == "2025-12-03T07:04:28.5Z"
    tz("Europe/Paris")
    assert timefmt.rfc3339_local(1764745468.0) == "2025-12-03T08:04:28+01:00"
    tz("America/St_Johns")
    assert timefmt.rfc3339_local(1764745468.25) == "2025-12-03T03:34:28.25-03:30"


@pytest.mark.parametrize("zone", ["UTC", "Europe/Berlin", "America/St_Johns"])
def test_times_round_trip_to_the_nanosecond(tz, zone):
    tz(zone)
    ns = 1796285959_123456789
    text = timefmt.rfc3339_nano(ns)
    assert timefmt.parse_rfc3339_nano(text) == ns
    assert text.endswith("Z") == (zone == "UTC")
    assert timefmt.rfc3339_nano(1796285959_000000000).count(".") == 0     # no fraction: none written
    assert timefmt.parse_rfc3339_nano(timefmt.rfc3339(1796285959.5)) == 1796285959_500000000


def test_go_time(tz):
    tz("Europe/Paris")
    assert timefmt.go_time(1764745468_120000000) == "2025-12-03 08:04:28.12 +0100 CET"
    assert timefmt.go_time_of(1764745468.0) == "2025-12-03 08:04:28 +0100 CET"
