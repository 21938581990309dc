"""Every XML reader refuses entity declarations and external references: nothing expanded,
no file opened, no connection made."""

from __future__ import annotations

import sys
import time
import warnings
from pathlib import Path

import pytest

from stridekeeper.errors import CorruptFileError, StridekeeperError, UnsupportedFormatError
from stridekeeper.io import read_runs
from stridekeeper.io.apple_health import read_apple_health, read_apple_health_mobility
from stridekeeper.io.gpx import read_gpx
from stridekeeper.io.tcx import read_tcx

_WATCH: dict[str, list] = {"paths": [], "opened": [], "connects": []}


def _audit(event: str, args: tuple) -> None:  # audit hooks can't be removed: keep it cheap
    if event == "open" and _WATCH["paths"]:
        if any(str(p) in str(args[0]) for p in _WATCH["paths"]):
            _WATCH["opened"].append(args[0])
    elif event == "socket.connect" and _WATCH["paths"]:
        _WATCH["connects"].append(args)


sys.addaudithook(_audit)

ROOTS = {"tcx": "TrainingCenterDatabase", "gpx": "gpx", "apple": "HealthData"}
READERS = {
    "tcx": [read_tcx],
    "gpx": [read_gpx],
    "apple": [read_apple_health, read_apple_health_mobility],
}


def _body(root: str, ref: str) -> str:
    if root == "gpx":
        return (f'<gpx version="1.1"><trk><name>{ref}</name><trkseg><trkpt lat="1" lon="2">'
                "<time>2024-01-01T00:00:00Z</time></trkpt></trkseg></trk></gpx>")  # fmt: skip
    if root == "TrainingCenterDatabase":
        return (f'<TrainingCenterDatabase><Activities><Activity Sport="Running"><Id>{ref}</Id>'
                '<Lap StartTime="2024-01-01T00:00:00Z"><Track><Trackpoint>'
                "<Time>2024-01-01T00:00:00Z</Time></Trackpoint></Track></Lap></Activity>"
                "</Activities></TrainingCenterDatabase>")  # fmt: skip
    return (f'<HealthData locale="{ref}"><Workout workoutActivityType="HKWorkoutActivityTypeYoga" '
            'duration="10" durationUnit="min" sourceName="W" startDate="2024-01-01 00:00:00 +0000" '
            'endDate="2024-01-01 00:10:00 +0000"/></HealthData>')  # fmt: skip


def _attacks(root: str, secret: Path) -> dict[str, bytes]:
    lol = '<!ENTITY lol "lol">' + "".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'
        for i in range(1, 10))  # fmt: skip
    return {
        "xxe_file": (f'<?xml version="1.0"?>\n<!DOCTYPE {root} [<!ENTITY xxe SYSTEM '
                     f'"file://{secret}">]>\n' + _body(root, "&xxe;")).encode(),
        "xxe_url": (f'<?xml version="1.0"?>\n<!DOCTYPE {root} [<!ENTITY xxe SYSTEM '
                    '"http://127.0.0.1:9/x">]>\n' + _body(root, "&xxe;")).encode(),
        "parameter_entity": (f'<?xml version="1.0"?>\n<!DOCTYPE {root} [<!ENTITY % p SYSTEM '
                             f'"file://{secret}"> %p;]>\n' + _body(root, "x")).encode(),
        "billion_laughs": (f'<?xml version="1.0"?>\n<!DOCTYPE {root} [{lol}]>\n'
                           + _body(root, "&lol9;")).encode(),
    }  # fmt: skip


@pytest.mark.parametrize("kind", sorted(READERS))
def test_entity_attacks_are_refused(kind: str, tmp_path: Path) -> None:
    secret = tmp_path / "secret_do_not_read.txt"
    secret.write_text("TOP SECRET")
    _WATCH["paths"] = [secret]
    _WATCH["opened"].clear()
    _WATCH["connects"].clear()
    try:
        for attack, data in _attacks(ROOTS[kind], secret).items():
            for reader in READERS[kind]:
                t0 = time.perf_counter()
                with pytest.raises((CorruptFileError, UnsupportedFormatError)) as info:
                    reader(data, name=f"{attack}.xml")
                assert time.perf_counter() - t0 < 2.0  # nothing was expanded
                msg = str(info.value)
                assert f"{attack}.xml" in msg and "TOP SECRET" not in msg
                assert "lollol" not in msg
            path = tmp_path / f"{attack}.{kind}"
            path.write_bytes(data)
            with pytest.raises((CorruptFileError, UnsupportedFormatError)):
                read_runs(path)
    finally:
        _WATCH["paths"] = []
    assert _WATCH["opened"] == [] and _WATCH["connects"] == []


@pytest.mark.parametrize("kind", sorted(READERS))
def test_external_dtd_is_never_fetched(kind: str, tmp_path: Path) -> None:
    secret = tmp_path / "dtd_secret.dtd"
    secret.write_text('<!ENTITY x "TOP SECRET">')
    root = ROOTS[kind]
    data = (f'<?xml version="1.0"?>\n<!DOCTYPE {root} SYSTEM "file://{secret}">\n'
            + _body(root, "plain")).encode()  # fmt: skip
    _WATCH["paths"] = [secret]
    _WATCH["opened"].clear()
    try:
        for reader in READERS[kind]:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                try:
                    reader(data, name="dtd.xml")  # read without the DTD, or refused
                except StridekeeperError as exc:
                    assert "TOP SECRET" not in str(exc)
    finally:
        _WATCH["paths"] = []
    assert _WATCH["opened"] == []
