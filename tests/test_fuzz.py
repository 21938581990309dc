"""Seeded mutation fuzzing: whatever the damage, every file is read cleanly or refused with
one line naming it, and what is read holds only physically possible values.

The larger run (10,000+ inputs, with the outcome table) is ``benchmarks/fuzz_import.py``.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from stridekeeper.library import Library, import_paths
from stridekeeper.synth.fuzz import fix_fit, mutants, outcome, seeds

N_CASES = 400


def test_seeds_read_ok() -> None:
    for name, data in seeds().items():
        assert [c for _, c, _ in outcome(name, data)] == ["ok"], name


def test_fit_crc_fix_up_reaches_the_decoder() -> None:
    from stridekeeper.synth.fitwrite import fit_crc

    fit = seeds()["run.fit"]
    cut = fix_fit(fit[:-200] + fit[-2:])  # a body 200 bytes shorter, header and CRCs redone
    assert int.from_bytes(cut[4:8], "little") == len(cut) - 16
    assert fit_crc(cut[:12]) == int.from_bytes(cut[12:14], "little")
    assert fit_crc(cut[:-2]) == int.from_bytes(cut[-2:], "little")


def test_mutants_keep_the_contract() -> None:
    counts: Counter[str] = Counter()
    bad = []
    base = seeds()
    for name, data in mutants(N_CASES, seed=16, base=base):
        for file, cls, detail in outcome(name, data):
            counts[cls] += 1
            if cls in ("defect", "garbage"):
                bad.append(f"{file}: {cls}: {detail}")
    assert bad == []
    # the damage is real: many inputs are refused, many are still read (with NaN holes)
    assert counts["clean_error"] > 70 and counts["ok"] > 140, counts


def test_a_batch_of_mutants_is_not_stopped(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    cases = list(mutants(90, seed=3))
    for name, data in cases:
        (folder / name).write_bytes(data)
    report = import_paths([folder], tmp_path / "lib", jobs=2)
    assert all("internal error" not in r for _, r in report.failures)
    assert all("\n" not in f + r for f, r in report.failures)
    lib = Library.open(tmp_path / "lib")
    assert lib.check().ok and len(lib.runs()) == report.imported_runs > 0
    # every input is accounted for: imported, failed, ignored or an identical copy
    srcs = lib.sources()
    assert set(srcs.loc[srcs["status"] == "failed", "path"]) <= {f for f, _ in report.failures}
