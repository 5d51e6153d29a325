"""``--set KEY=VALUE`` options: the one parser every command uses."""

from __future__ import annotations

from typing import Any

import typer
import yaml


def parse_overrides(items: list[str]) -> dict[str, Any]:
    """``["n_steps=2000", "magnetic_field=[0, 0, 1]"]`` -> ``{"n_steps": 2000, ...}``.

    Values are read as YAML, so numbers, booleans, ``null``, lists and mappings work.
    """
    out: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise typer.BadParameter(f"{item!r} is not KEY=VALUE, e.g. --set n_steps=2000")
        out[key.strip()] = yaml.safe_load(value)
    return out
