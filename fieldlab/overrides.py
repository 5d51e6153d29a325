"""``--set KEY=VALUE`` options: the one parser every command uses."""

from __future__ import annotations

from typing import Any

from fieldlab.errors import SettingsError


def parse_overrides(items: list[str]) -> dict[str, Any]:
    """``["n_steps=2000", "magnetic_field=[0, 0, 1]"]`` -> ``{"n_steps": 2000, ...}``.

    Values are read as YAML, so numbers, booleans, ``null``, lists and mappings work.

    Raises:
        SettingsError: an item that is not KEY=VALUE, or whose value is not valid YAML.
    """
    import yaml  # here: every command imports this module, few use --set

    out: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise SettingsError(f"--set {item!r} is not KEY=VALUE, e.g. --set n_steps=2000")
        try:
            out[key.strip()] = yaml.safe_load(value)
        except yaml.YAMLError as err:
            problem = getattr(err, "problem", None) or "not valid YAML"
            raise SettingsError(
                f"--set {item!r}: the value {value!r} is not valid YAML ({problem}); quote "
                'strings and close brackets, e.g. --set "magnetic_field=[0, 0, 1]"'
            ) from None
    return out
