"""``verify`` covers the whole store (coordinates, attributes and statistics, shared variables,
chunks) against the store's own layout; ``repair`` restores bytes and never breaks a good store;
readers refuse a store that lost a chunk."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from distributed import Client
from typer.testing import CliRunner

from fieldlab.catalog import load_card, locate, open_dataset, open_statistics, repair, verify
from fieldlab.cli import app
from fieldlab.errors import DatasetIncompleteError
from fieldlab.pipelines import generate
from tests.pipelines.helpers import TINY, store_digest, write_card

NAME = "tiny-sources"
CARD = {
    **TINY,
    "name": NAME,
    "description": "charges in the field of static sources: a variable shared by all simulations",
    "simulator": "electrostatic-field",
    "params": {"n_steps": 1000},
    "splits": {"train": 40, "test": 20},
    "chunk_size": 10,
}


@pytest.fixture
def store(client: Client, tmp_path: Path) -> tuple[Path, Path, Path]:
    """``(catalog, data root, store)`` of a freshly generated ``tiny-sources``."""
    catalog = tmp_path / "cards"
    catalog.mkdir()
    write_card(catalog, CARD)
    root = tmp_path / "data"
    generate(NAME, data_root=root, catalog=catalog, client=client, progress=False)
    return catalog, root, Path(locate(load_card(NAME, catalog), root).store)


def flip(path: Path, at: int = 0) -> None:
    data = bytearray(path.read_bytes())
    data[at] ^= 0x01
    path.write_bytes(bytes(data))


def test_verify_catches_every_kind_of_damage_and_repair_restores_the_bytes(
    store: tuple[Path, Path, Path], client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    catalog, root, zarr_dir = store
    report = verify(NAME, data_root=root, catalog=catalog)
    assert report.ok
    assert report.checked == 6  # 4 train chunks + 2 test chunks
    assert report.files_checked > 20  # attributes, metadata, coordinates, shared variables
    pristine = {p: p.read_bytes() for p in zarr_dir.rglob("*") if p.is_file()}
    digest = store_digest(zarr_dir)
    stats = open_statistics(NAME, data_root=root, catalog=catalog)

    flip(zarr_dir / "train/time/c/0", 3)  # a coordinate
    sim = zarr_dir / "test/sim/c/0"
    sim.write_bytes(bytes(len(sim.read_bytes())))  # an all-zero sim index
    meta = json.loads((zarr_dir / "zarr.json").read_text())
    meta["attributes"]["statistics"]["position"]["std"] *= 100  # normalisation statistics
    (zarr_dir / "zarr.json").write_text(json.dumps(meta))
    flip(zarr_dir / "test/source_charge/c/0", 5)  # a shared variable
    flip(zarr_dir / "train/position/c/1/0/0/0", 100)  # chunk data

    report = verify(NAME, data_root=root, catalog=catalog)
    found = {(p.split, p.chunk, p.problem) for p in report.problems}
    assert found == {
        ("train", None, "corrupted: coordinate time of split train"),
        ("test", None, "corrupted: coordinate sim of split test"),
        ("", None, "corrupted: root attributes and statistics"),
        ("test", None, "corrupted: shared variable source_charge of split test"),
        ("train", 1, "corrupted: position"),
    }
    monkeypatch.setenv("FIELDLAB_CATALOG", str(catalog))
    result = CliRunner().invoke(app, ["catalog", "verify", NAME, "--data-root", str(root)])
    assert result.exit_code == 1
    assert "5 problem(s)" in result.output

    summary = repair(report, data_root=root, catalog=catalog)
    assert sorted(summary.restored) == [
        "test/sim/c/0",
        "test/source_charge/c/0",
        "train/time/c/0",
        "zarr.json",
    ]
    assert summary.forgotten == [("train", 1)]
    assert summary.unrepaired == []
    for key in summary.restored:
        assert (zarr_dir / key).read_bytes() == pristine[zarr_dir / key]
    # the damaged chunk is forgotten, so readers refuse the store until it is rewritten
    with pytest.raises(DatasetIncompleteError, match=r"train chunk 1 \(no completion record\)"):
        open_dataset(NAME, "train", data_root=root, catalog=catalog)
    again = generate(NAME, data_root=root, catalog=catalog, client=client, progress=False)
    assert (again.written, again.skipped) == (1, 5)
    assert verify(NAME, data_root=root, catalog=catalog).ok
    assert store_digest(zarr_dir) == digest
    assert open_statistics(NAME, data_root=root, catalog=catalog) == stats


def test_a_deleted_chunk_file_is_refused_by_readers_and_rewritten_by_generate(
    store: tuple[Path, Path, Path], client: Client
) -> None:
    catalog, root, zarr_dir = store
    digest = store_digest(zarr_dir)
    (zarr_dir / "test/velocity/c/1/0/0/0").unlink()
    with pytest.raises(DatasetIncompleteError) as err:
        open_dataset(NAME, "train", data_root=root, catalog=catalog)
    assert "test chunk 1 (chunk file of velocity gone)" in str(err.value)
    assert f"fieldlab generate {NAME}" in str(err.value)
    problems = verify(NAME, data_root=root, catalog=catalog).problems
    assert [(p.split, p.chunk, p.problem) for p in problems] == [("test", 1, "missing: velocity")]
    again = generate(NAME, data_root=root, catalog=catalog, client=client, progress=False)
    assert (again.written, again.skipped) == (1, 5)
    assert store_digest(zarr_dir) == digest
    assert verify(NAME, data_root=root, catalog=catalog).ok


def test_an_edited_chunk_size_changes_neither_verify_nor_repair(
    store: tuple[Path, Path, Path], client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """chunk_size is not in the fingerprint: the card now disagrees with the store on disk."""
    catalog, root, zarr_dir = store
    digest = store_digest(zarr_dir)
    write_card(catalog, {**CARD, "chunk_size": 5})
    assert locate(load_card(NAME, catalog), root).store == str(zarr_dir)  # the same store
    report = verify(NAME, data_root=root, catalog=catalog)
    assert report.ok
    assert report.checked == 6
    monkeypatch.setenv("FIELDLAB_CATALOG", str(catalog))
    args = ["catalog", "verify", NAME, "--data-root", str(root), "--repair"]
    assert CliRunner().invoke(app, args).exit_code == 0
    ds = open_dataset(NAME, "train", data_root=root, catalog=catalog)  # still readable
    assert ds.position.chunks[0] == (10, 10, 10, 10)
    # a lost chunk is rewritten in the store's chunking, not the card's
    (zarr_dir / "train/charge/c/2/0").unlink()
    again = generate(NAME, data_root=root, catalog=catalog, client=client, progress=False)
    assert (again.written, again.skipped) == (1, 5)
    assert store_digest(zarr_dir) == digest
    np.testing.assert_array_equal(
        open_dataset(NAME, "train", data_root=root, catalog=catalog).charge.values,
        ds.charge.values,
    )
