"""Finding and reading cards: ``catalog/<name>.yaml`` -> a validated :class:`Card`.

The catalog directory is ``$FIELDLAB_CATALOG`` if set, else the ``catalog/`` directory next to the
``fieldlab`` package. Every problem with a card raises :class:`~fieldlab.errors.CardError` naming
the file, the field and, where there is a fixed set, the valid choices.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from fieldlab.catalog.card import Card, FrameWindow, SplitSpec, TaskSpec, ValidationSpec
from fieldlab.errors import CardError, DatasetNameError, UnknownDatasetError

NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]*$")
"""A dataset name: lower-case letters, digits and hyphens, starting with a letter or digit."""


def catalog_dir(path: str | os.PathLike[str] | None = None) -> Path:
    """The directory of cards: ``path``, else ``$FIELDLAB_CATALOG``, else the repository's."""
    if path is not None:
        return Path(path)
    if env := os.environ.get("FIELDLAB_CATALOG"):
        return Path(env)
    return Path(__file__).resolve().parents[2] / "catalog"


def card_names(directory: str | os.PathLike[str] | None = None) -> list[str]:
    """Names of every card in the catalog, sorted."""
    return sorted(p.stem for p in catalog_dir(directory).glob("*.yaml"))


def check_name(name: str) -> str:
    """``name`` if it can name a card; a name such as ``../x`` could read a file outside the
    catalog and is refused.

    Raises:
        DatasetNameError: naming the allowed characters.
    """
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
        raise DatasetNameError(
            f"{name!r} is not a dataset name: use lower-case letters a-z, digits 0-9 and "
            "hyphens, starting with a letter or digit (e.g. nri-charged-2d); "
            "`fieldlab catalog list` shows the catalogued names"
        )
    return name


def card_path(name: str, directory: str | os.PathLike[str] | None = None) -> Path:
    """The file of card ``name``; an unknown name lists the catalogued ones."""
    path = catalog_dir(directory) / f"{check_name(name)}.yaml"
    if not path.is_file():
        known = ", ".join(card_names(directory)) or "(none)"
        raise UnknownDatasetError(
            f"no dataset card named {name!r} in {catalog_dir(directory)}; choose one of: {known}"
        )
    return path


def load_card(name: str, directory: str | os.PathLike[str] | None = None) -> Card:
    """Read and validate card ``name`` from the catalog."""
    return read_card(card_path(name, directory))


@dataclass
class CatalogScan:
    """Every card of a catalog directory: the valid ones, and the error of each invalid one.

    Attributes:
        cards: valid cards by name, in name order.
        errors: the :class:`CardError` of each card that could not be read, by file name stem.
    """

    cards: dict[str, Card] = field(default_factory=dict)
    errors: dict[str, CardError] = field(default_factory=dict)


def scan_cards(directory: str | os.PathLike[str] | None = None) -> CatalogScan:
    """Read every card of the catalog; a bad card is reported in ``errors``, not raised, so a
    listing shows the good cards and says what is wrong with the others."""
    scan = CatalogScan()
    for path in sorted(catalog_dir(directory).glob("*.yaml")):
        try:
            scan.cards[path.stem] = read_card(path)
        except CardError as err:
            scan.errors[path.stem] = err
    return scan


def read_card(path: str | os.PathLike[str]) -> Card:
    """Read and validate the card in file ``path``; its name must match the file name."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as err:
        raise CardError(f"card {path}: cannot read it as YAML: {err}") from None
    if not isinstance(raw, dict):
        raise CardError(f"card {path}: expected a mapping of card fields, got {type(raw).__name__}")
    try:
        card = Card(**raw)
    except ValidationError as err:
        raise CardError(f"card {path}: " + "; ".join(_describe(e) for e in err.errors())) from None
    if card.name != path.stem:
        raise CardError(
            f"card {path}: field 'name' is {card.name!r} but must match the file name {path.stem!r}"
        )
    return card


def _describe(error: Any) -> str:
    """One pydantic error as ``field 'a.b': what is wrong (valid ...)``."""
    loc = tuple(str(x) for x in error["loc"] if x != "[key]")
    where = ".".join(loc) or "card"
    if error["type"] == "extra_forbidden":
        valid = ", ".join(_model_at(loc[:-1]).model_fields)
        return f"field {where!r} is not a card field here; valid fields: {valid}"
    if error["type"] == "missing":
        return f"field {where!r} is required"
    msg = str(error["msg"]).removeprefix("Value error, ")
    if not loc and ": " in msg:  # a whole-card check names its field first: "field: problem"
        where, msg = msg.split(": ", 1)
    return f"field {where!r}: {msg}"


def _model_at(loc: tuple[str, ...]) -> type[BaseModel]:
    """The card model that holds the fields at ``loc``."""
    if loc[:1] == ("splits",) and len(loc) >= 2:
        return SplitSpec
    if loc[:1] == ("task",):
        return FrameWindow if len(loc) >= 2 else TaskSpec
    if loc[:1] == ("validation",):
        return ValidationSpec
    return Card
