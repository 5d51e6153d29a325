"""``catalog verify`` finds damaged chunks; invalid simulations are never written silently."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from blake3 import blake3
from distributed import Client
from typer.testing import CliRunner

from fieldlab.catalog import load_card, locate, open_dataset, verify
from fieldlab.catalog.records import chunk_key
from fieldlab.cli import app
from fieldlab.errors import DatasetError
from fieldlab.pipelines import generate
from fieldlab.pipelines.validation import exceeds, invalid
from fieldlab.simulators import SimulationResult, SimulationStatus, simulate
from tests.pipelines.helpers import TINY, write_card

NAME = "tiny-charged"


def test_verify_reports_corrupted_and_missing_chunks(
    catalog: Path, client: Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    generate(NAME, data_root=tmp_path, catalog=catalog, client=client, progress=False)
    assert verify(NAME, data_root=tmp_path, catalog=catalog).ok
    loc = locate(load_card(NAME, catalog), tmp_path)
    chunk = Path(loc.store, "train/velocity/c/2/0/0/0")
    data = bytearray(chunk.read_bytes())
    data[1000] ^= 0x01  # one flipped bit
    chunk.write_bytes(bytes(data))
    Path(loc.store, "test/charge/c/1/0").unlink()
    Path(loc.record("val", 0)).unlink()

    report = verify(NAME, data_root=tmp_path, catalog=catalog)
    assert report.checked == 12
    found = {(p.split, p.chunk, p.problem) for p in report.problems}
    assert found == {
        ("train", 2, "corrupted: velocity"),
        ("test", 1, "missing: charge"),
        ("val", 0, "missing: no completion record"),
    }
    monkeypatch.setenv("FIELDLAB_CATALOG", str(catalog))
    result = CliRunner().invoke(app, ["catalog", "verify", NAME, "--data-root", str(tmp_path)])
    assert result.exit_code == 1
    assert "corrupted: velocity" in result.output
    assert "3 problem(s)" in result.output

    args = ["catalog", "verify", NAME, "--data-root", str(tmp_path), "--repair"]
    assert CliRunner().invoke(app, args).exit_code == 1
    again = generate(NAME, data_root=tmp_path, catalog=catalog, client=client, progress=False)
    assert (again.written, again.skipped) == (3, 9)
    assert verify(NAME, data_root=tmp_path, catalog=catalog).ok


def test_records_name_their_hash_and_older_sha256_records_still_verify(
    catalog: Path, client: Client, tmp_path: Path
) -> None:
    """New records hash with BLAKE3 over the stored bytes; a record written with sha256 (as
    earlier versions did) is checked with sha256, so existing datasets stay verifiable."""
    generate(NAME, data_root=tmp_path, catalog=catalog, client=client, progress=False)
    loc = locate(load_card(NAME, catalog), tmp_path)
    record_path = Path(loc.record("train", 1))
    record = json.loads(record_path.read_text())
    assert record["hash"] == "blake3"
    stored = Path(loc.store, "train/position/c/1/0/0/0").read_bytes()
    assert record["checksums"]["position"] == blake3(stored).hexdigest()

    old = {k: hashlib.sha256(Path(loc.store, chunk_key("train", k, 1)).read_bytes()).hexdigest()
           for k in record["checksums"]}  # fmt: skip
    record.pop("hash")
    record["checksums"] = old
    record_path.write_text(json.dumps(record))
    assert verify(NAME, data_root=tmp_path, catalog=catalog).ok
    old["position"] = hashlib.sha256(b"something else").hexdigest()
    record_path.write_text(json.dumps({**record, "checksums": old}))
    report = verify(NAME, data_root=tmp_path, catalog=catalog)
    assert [(p.split, p.chunk, p.problem) for p in report.problems] == [
        ("train", 1, "corrupted: position")
    ]


def test_a_chunk_equal_to_the_fill_value_is_still_written_and_verifies(
    client: Client, tmp_path: Path
) -> None:
    """All-neutral particles: every ``charge`` chunk is zeros, zarr's fill value. Each chunk must
    still get its file, so that its record and ``verify`` see data, not a missing chunk."""
    directory = tmp_path / "cards"
    directory.mkdir()
    card = {
        **TINY,
        "name": "neutral-charged",
        "params": {"n_steps": 500, "charge_probs": [0.0, 1.0, 0.0]},
        "splits": {"train": 40},
        "chunk_size": 20,
    }
    write_card(directory, card)
    generate(
        "neutral-charged", data_root=tmp_path, catalog=directory, client=client, progress=False
    )
    loc = locate(load_card("neutral-charged", directory), tmp_path)
    for chunk in range(2):
        stored = Path(loc.store, chunk_key("train", "charge", chunk))
        assert stored.read_bytes() == bytes(20 * 5 * 8)  # 20 simulations x 5 zero charges
    assert verify("neutral-charged", data_root=tmp_path, catalog=directory).ok
    assert (open_dataset("neutral-charged", "train", data_root=tmp_path, catalog=directory)
            ["charge"].values == 0).all()  # fmt: skip


def diverging_card(directory: Path, on_invalid: str) -> str:
    """Charged particles without walls, where leaving |x| < 3 counts as diverged."""
    name = f"diverging-{on_invalid}"
    write_card(
        directory,
        {
            **TINY,
            "name": name,
            "params": {"n_steps": 3000, "walls": False},
            "splits": {"train": 60, "val": 30},
            "validation": {"on_invalid": on_invalid, "max_abs": 3.0, "max_attempts": 50},
        },
    )
    return name


def test_invalid_simulations_fail_with_the_split_and_simulations(
    tmp_path: Path, client: Client
) -> None:
    name = diverging_card(tmp_path, "fail")
    with pytest.raises(DatasetError) as err:
        generate(name, data_root=tmp_path / "data", catalog=tmp_path, client=client, progress=False)
    message = str(err.value)
    assert f"dataset {name!r}, split '" in message
    assert "simulations [" in message
    assert "validation.on_invalid: resample" in message


def test_invalid_simulations_are_resampled_and_counted(tmp_path: Path, client: Client) -> None:
    name = diverging_card(tmp_path, "resample")
    card = load_card(name, tmp_path)
    raw = simulate("charged", 60, 0, card.resolved_params("train"))
    assert 0 < invalid(raw, 3.0).sum() < 60  # the card really does produce some invalid ones

    summary = generate(
        name, data_root=tmp_path / "d", catalog=tmp_path, client=client, progress=False
    )
    assert summary.resampled["train"] > 0
    ds = open_dataset(name, "train", data_root=tmp_path / "d", catalog=tmp_path)
    assert ds.attrs["resampled"] == summary.resampled["train"]
    assert float(np.abs(ds.position).max()) <= 3.0
    assert float(np.abs(ds.velocity).max()) <= 3.0
    # deterministic: a second store gets the same replacements
    again = generate(
        name, data_root=tmp_path / "e", catalog=tmp_path, client=client, progress=False
    )
    assert again.resampled == summary.resampled
    other = open_dataset(name, "train", data_root=tmp_path / "e", catalog=tmp_path)
    np.testing.assert_array_equal(other.position.values, ds.position.values)


def test_non_finite_simulations_are_invalid() -> None:
    r = simulate("charged", 4, 0, {"n_steps": 300})
    pos = r.position.copy()
    pos[2, 1, 0, 0] = np.nan
    finite = np.isfinite(pos).all(axis=(1, 2, 3))
    broken = dataclasses.replace(
        r,
        variables={**r.variables, "position": pos},
        status=SimulationStatus(finite=finite, clipped=r.status.clipped),
    )
    assert isinstance(broken, SimulationResult)
    np.testing.assert_array_equal(invalid(broken, None), [False, False, True, False])
    np.testing.assert_array_equal(invalid(broken, 1e-9), [True, True, True, True])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_the_magnitude_walk_agrees_with_numpy(dtype: type) -> None:
    rng = np.random.default_rng(7)
    x = rng.normal(0.0, 3.0, size=(200, 60)).astype(dtype)
    x[5, 10], x[6, 0], x[7, -1], x[8, 30] = np.nan, np.inf, -np.inf, -50.0
    for view in (x, x[:, ::3]):  # contiguous, and a strided view
        for limit in (1e-3, 5.0, 20.0, 1e9):
            with np.errstate(invalid="ignore"):
                want = ~(np.abs(view).max(axis=1) <= limit)
            np.testing.assert_array_equal(exceeds(view, limit), want)
    assert exceeds(x, 1e9)[[5, 6, 7]].all()  # NaN and both infinities exceed any limit
    assert not exceeds(x, 1e9)[8]
