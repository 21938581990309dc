"""Regenerate the simulated sample season and MANIFEST.yml: ``python sample_data/regenerate.py``."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from stridekeeper.synth.sample import SAMPLE_SEASON, write_sample_season

HERE = Path(__file__).resolve().parent


def _yaml_value(value: object) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def main() -> None:
    shutil.rmtree(HERE / "watch", ignore_errors=True)
    manifest = write_sample_season(HERE)
    lines = [
        "# What each sample file is and the truth it was simulated with.",
        "# Regenerate with: python sample_data/regenerate.py (deterministic: same bytes).",
        "mobility_template.csv:",
        "  description: a three-row example of the hand-kept mobility log, to copy and fill in",
        "season:",
        "  description: one simulated athlete, 14 weeks; mobility sessions start 4 weeks earlier",
        "  parameters:",
    ]
    lines += [f"    {k}: {_yaml_value(v)}" for k, v in SAMPLE_SEASON.items()]
    lines.append("  truth:")
    lines += [f"    {k}: {_yaml_value(v)}" for k, v in manifest["season"].items()]
    lines.append("files:")
    for name, entry in manifest["files"].items():
        lines.append(f"  {name}:")
        # a JSON string is a valid YAML scalar: descriptions hold ": " and "(...)"
        lines.append(f"    description: {json.dumps(entry['description'])}")
        if entry["truth"]:
            lines.append("    truth:")
            lines += [f"      {k}: {_yaml_value(v)}" for k, v in entry["truth"].items()]
    (HERE / "MANIFEST.yml").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
