"""Regenerate the simulated sample runs and MANIFEST.yml: ``python sample_data/regenerate.py``."""

from __future__ import annotations

from pathlib import Path

from stridekeeper.synth.sample import write_sample_runs

HERE = Path(__file__).resolve().parent


def main() -> None:
    manifest = write_sample_runs(HERE / "runs")
    lines = [
        "# What each sample file is and the truth it was simulated with.",
        "# Regenerate with: python sample_data/regenerate.py",
        "mobility_template.csv:",
        "  description: a hand-kept mobility log with the columns stridekeeper reads",
        "runs:",
    ]
    for name, entry in manifest.items():
        lines.append(f"  {name}:")
        lines.append(f"    file: runs/{entry['file']}")
        lines.append(f"    description: {entry['description']}")
        lines.append("    truth:")
        for key, value in entry["truth"].items():
            value = str(value).lower() if isinstance(value, bool) else value
            lines.append(f"      {key}: {value}")
    (HERE / "MANIFEST.yml").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
