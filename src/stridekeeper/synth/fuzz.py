"""Seeded mutation fuzzing of the readers and the importer (tests and benchmarks).

:func:`mutants` turns a few valid files the project writes itself (a FIT run, and its TCX,
GPX and CSV forms, a mobility log, a zip of them) into damaged variants: random bytes
flipped, inserted, deleted or cut, FIT files with their header and CRCs fixed up so the
damage reaches the decoder. :func:`outcome` reads one and sorts the result into the
contract's classes:

``ok``
    runs were read and every value is physically possible (or flagged NaN);
``clean_error``
    a :class:`~stridekeeper.errors.StridekeeperError` naming the file, one line;
``defect``
    any other exception (a bug: the contract says every failure is a clean error);
``garbage``
    runs were read "ok" but hold impossible values (the range checks missed them).
"""

from __future__ import annotations

import io
import struct
import zipfile
from collections.abc import Iterator
from typing import Any

import numpy as np

from .fitwrite import fit_crc

__all__ = ["fit_container", "fix_fit", "impossible_values", "mutants", "outcome", "seeds"]

#: Bounds every reader's output must respect (see ``io.records.RANGE_LIMITS``).
_LIMITS = {"speed_mps": (0.0, 12.5), "cadence_spm": (0.0, 260.0),
           "heart_rate_bpm": (25.0, 250.0), "latitude_deg": (-90.0, 90.0),
           "longitude_deg": (-180.0, 180.0)}  # fmt: skip


def fit_container(body: bytes, *, protocol: int = 0x20, profile: int = 2132) -> bytes:
    """A FIT file around ``body`` (its messages): 14-byte header with CRC, file CRC."""
    hdr = struct.pack("<BBHI4s", 14, protocol, profile, len(body), b".FIT")
    hdr += struct.pack("<H", fit_crc(hdr))
    out = hdr + body
    return out + struct.pack("<H", fit_crc(out))


def fix_fit(data: bytes) -> bytes:
    """Rewrite a (damaged) FIT file's data size and both CRCs so the decoder reads on."""
    if len(data) < 16:
        return data
    return fit_container(data[14:-2], protocol=data[1], profile=int.from_bytes(data[2:4], "little"))


def _mutate(data: bytes, rng: np.random.Generator) -> bytes:
    b = bytearray(data)
    for _ in range(int(rng.integers(1, 6))):
        if not b:
            break
        op = int(rng.integers(0, 5))
        i = int(rng.integers(0, len(b)))
        if op == 0:
            b[i] = int(rng.integers(0, 256))
        elif op == 1:
            b[i] ^= 1 << int(rng.integers(0, 8))
        elif op == 2:
            b[i:i] = bytes(rng.integers(0, 256, int(rng.integers(1, 8))).astype(np.uint8))
        elif op == 3:
            del b[i : i + int(rng.integers(1, 16))]
        else:
            b = b[: max(1, i)]  # cut short
    return bytes(b)


def seeds(minutes: int = 4) -> dict[str, bytes]:
    """Valid files to mutate: ``name -> bytes`` (FIT, TCX, GPX, CSV, a mobility log)."""
    import pandas as pd

    from .files import run_fit_bytes
    from .runs import simulate_run

    sim = simulate_run(start_time=pd.Timestamp("2026-03-02T06:30Z"), duration_s=minutes * 60,
                       seed=7)  # fmt: skip
    fit = run_fit_bytes(sim)
    out = {"run.fit": fit}
    recs = sim.records
    out["run.csv"] = _csv(recs)
    out["run.gpx"] = _gpx(recs)
    out["run.tcx"] = _tcx(recs)
    out["mobility.csv"] = (b"date,duration_min,type,regions\n2026-03-01,20,yoga,hips\n"
                           b"2026-03-03,15,mobility,ankles\n")  # fmt: skip
    return out


def _col(recs: Any, name: str) -> np.ndarray:
    return recs[name].to_numpy(float) if name in recs else np.full(len(recs), np.nan)


def _csv(recs: Any) -> bytes:
    lines = ["timestamp,distance_m,speed_mps,cadence_spm,heart_rate_bpm"]
    d, v, c, h = (_col(recs, n) for n in ("distance_m", "speed_mps", "cadence_spm",
                                          "heart_rate_bpm"))  # fmt: skip
    for i, t in enumerate(recs.index):
        lines.append(f"{t.isoformat()},{d[i]:.2f},{v[i]:.3f},{c[i]:.1f},{h[i]:.0f}")
    return ("\n".join(lines) + "\n").encode()


def _gpx(recs: Any) -> bytes:
    lat, lon = _col(recs, "latitude_deg"), _col(recs, "longitude_deg")
    pts = "".join(f'<trkpt lat="{lat[i]:.6f}" lon="{lon[i]:.6f}"><time>'
                  f"{t.strftime('%Y-%m-%dT%H:%M:%SZ')}</time></trkpt>"
                  for i, t in enumerate(recs.index) if np.isfinite(lat[i]))  # fmt: skip
    return (f'<?xml version="1.0"?><gpx version="1.1" creator="fuzz" '
            f'xmlns="http://www.topografix.com/GPX/1/1"><trk><type>running</type><trkseg>'
            f"{pts}</trkseg></trk></gpx>").encode()  # fmt: skip


def _tcx(recs: Any) -> bytes:
    d, h, c = _col(recs, "distance_m"), _col(recs, "heart_rate_bpm"), _col(recs, "cadence_spm")
    pts = "".join(f"<Trackpoint><Time>{t.strftime('%Y-%m-%dT%H:%M:%SZ')}</Time>"
                  f"<DistanceMeters>{d[i]:.1f}</DistanceMeters><HeartRateBpm><Value>"
                  f"{h[i]:.0f}</Value></HeartRateBpm><Cadence>{c[i] / 2:.0f}</Cadence>"
                  f"</Trackpoint>" for i, t in enumerate(recs.index))  # fmt: skip
    start = recs.index[0].strftime("%Y-%m-%dT%H:%M:%SZ")
    return ('<?xml version="1.0"?><TrainingCenterDatabase xmlns="http://www.garmin.com/xmlschemas'
            f'/TrainingCenterDatabase/v2"><Activities><Activity Sport="Running"><Id>{start}</Id>'
            f'<Lap StartTime="{start}"><Track>{pts}</Track></Lap></Activity></Activities>'
            "</TrainingCenterDatabase>").encode()  # fmt: skip


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def mutants(
    n: int, seed: int = 0, base: dict[str, bytes] | None = None
) -> Iterator[tuple[str, bytes]]:
    """``n`` mutated files (name, bytes), cycling over the formats of :func:`seeds`; every
    sixth is a zip of mutated members (or a mutated zip)."""
    rng = np.random.default_rng(seed)
    base = seeds() if base is None else base
    names = sorted(base)
    for i in range(n):
        if i % 6 == 5:
            members = {f"m{j}_{nm}": _mutate(base[nm], rng) for j, nm in enumerate(names)}
            z = _zip(members)
            yield f"case{i:05d}.zip", (_mutate(z, rng) if rng.random() < 0.5 else z)
            continue
        name = names[i % len(names)]
        data = _mutate(base[name], rng)
        if name.endswith(".fit") and rng.random() < 0.8:
            data = fix_fit(data)
        yield f"case{i:05d}_{name}", data


def impossible_values(records: list[Any]) -> list[str]:
    """What is physically impossible in records tables read "ok" (empty: nothing).

    ``records``: pandas DataFrames or the Arrow tables the importer's workers produce.
    """
    bad = []
    for rec in records:
        if not hasattr(rec, "columns") or not hasattr(rec, "dtypes"):
            rec = rec.to_pandas()
        for col, (lo, hi) in _LIMITS.items():
            if col in rec:
                v = rec[col].to_numpy(float)
                v = v[~np.isnan(v)]
                if len(v) and (v.min() < lo or v.max() > hi):
                    bad.append(f"{col} outside {lo}..{hi}")
        for col in rec.columns:
            if rec[col].dtype.kind == "f" and np.isinf(rec[col].to_numpy()).any():
                bad.append(f"{col} infinite")
        if "distance_m" in rec:
            d = rec["distance_m"].dropna().to_numpy(float)
            if len(d) > 1 and (np.diff(d) < -0.5).any():
                bad.append("distance decreasing")
    return bad


def outcome(name: str, data: bytes) -> list[tuple[str, str, str]]:
    """Decode one input as the importer does (a zip: each member): ``(file, class,
    detail)`` per file; classes in the module docstring."""
    from ..library.importer import MAX_ARCHIVE_BYTES, _decode_item, _expand_zip

    items: list[tuple[str, bytes]] = []
    results: list[tuple[str, str, str]] = []
    if name.endswith(".zip"):
        failures: list[tuple[str, str]] = []
        try:
            items = [(it.display, it.read()) for it in
                     _expand_zip(data, name, [MAX_ARCHIVE_BYTES], failures)]  # fmt: skip
        except Exception as exc:
            return [(name, "defect", f"{type(exc).__name__}: {exc}")]
        results += [(f, "clean_error", r) for f, r in failures]
    else:
        items = [(name, data)]
    for display, payload in items:
        try:
            out = _decode_item(display, payload, "fuzz", MAX_ARCHIVE_BYTES)
        except Exception as exc:
            results.append((display, "defect", f"{type(exc).__name__}: {exc}"))
            continue
        err = out["error"]
        if err:
            one_line = "\n" not in err
            if "internal error" in err or not one_line or not err.startswith(display):
                results.append((display, "defect", err))
            else:
                results.append((display, "clean_error", err))
            continue
        bad = impossible_values([rec for _, rec in out["runs"]])
        if bad:
            results.append((display, "garbage", "; ".join(sorted(set(bad)))))
        else:
            n = len(out["runs"]) + (0 if out["sessions"] is None else len(out["sessions"]))
            results.append((display, "ok", f"{n} run(s)/session(s)"))
    return results
