"""Generation on a real LocalCluster: the schema, the numbers, the statistics, and resuming."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
import zarr
from distributed import Client

from fieldlab import __version__
from fieldlab.catalog import load_card, locate, open_dataset, open_statistics
from fieldlab.catalog.seeds import split_seed
from fieldlab.errors import DatasetError, DatasetNotFoundError
from fieldlab.pipelines import generate
from fieldlab.simulators import VARIABLES, simulate
from tests.pipelines.helpers import store_digest

NAME = "tiny-charged"


@pytest.fixture(scope="module")
def generated(catalog: Path, client: Client, tmp_path_factory: pytest.TempPathFactory) -> str:
    root = str(tmp_path_factory.mktemp("data"))
    summary = generate(NAME, data_root=root, catalog=catalog, client=client, progress=False)
    assert (summary.chunks, summary.written, summary.skipped) == (12, 12, 0)
    return root


def test_store_path_is_name_and_fingerprint(generated: str, catalog: Path) -> None:
    loc = locate(load_card(NAME, catalog), generated)
    assert loc.store == f"{generated}/{NAME}/{loc.fingerprint}.zarr"
    assert Path(loc.store).is_dir()
    assert len(list(Path(loc.records).glob("*/[0-9]*.json"))) == 12  # one record per chunk
    assert Path(loc.records, "store.json").is_file()  # and one for the rest of the store


def test_schema_round_trips_through_xarray(generated: str, catalog: Path) -> None:
    card = load_card(NAME, catalog)
    for split, n_sims, frames in (("train", 240, 29), ("val", 60, 29), ("test", 50, 59)):
        ds = open_dataset(NAME, split, data_root=generated, catalog=catalog)
        assert dict(ds.sizes) == {"sim": n_sims, "time": frames, "particle": 5, "space": 2}
        assert ds.position.dims == ("sim", "time", "particle", "space")
        assert ds.charge.dims == ("sim", "particle")
        assert ds.position.chunks[0][0] == 30  # one zarr chunk per generation task
        np.testing.assert_array_equal(ds.sim, np.arange(n_sims))
        np.testing.assert_allclose(ds.time, 0.1 * np.arange(1, frames + 1))
        assert list(ds.space.values) == ["x", "y"]
        for name in ("position", "velocity", "charge"):
            v = VARIABLES[name]
            attrs = ds[name].attrs
            assert (attrs["units"], attrs["long_name"], attrs["tensor_order"]) == (
                v.units,
                v.long_name,
                v.tensor_order,
            )
        a = ds.attrs
        assert a["simulator"] == "charged"
        assert a["simulator_version"] == card.simulator_version
        assert a["params"] == card.resolved_params(split)
        assert a["seed"] == 7
        assert a["split_seed"] == split_seed(7, split)
        assert a["fingerprint"] == locate(card, generated).fingerprint
        assert a["fieldlab_version"] == __version__
        assert a["Conventions"].startswith("CF-")
        assert "generate tiny-charged" in a["history"]
        assert a["split"] == split
        assert a["dataset"] == NAME
        assert set(a["normalisation"]) == {
            "position",
            "velocity",
            "position_delta",
            "velocity_delta",
        }
    # and through plain xarray, without fieldlab
    raw = xr.open_zarr(locate(card, generated).store, group="test", consolidated=False)
    assert raw.position.attrs["tensor_order"] == 1
    assert raw.attrs["params"]["n_steps"] == 6000


def test_the_numbers_are_the_kernels_for_the_derived_seeds(generated: str, catalog: Path) -> None:
    card = load_card(NAME, catalog)
    for split in ("train", "test"):
        ds = open_dataset(NAME, split, data_root=generated, catalog=catalog)
        n = card.splits[split].n_sims
        ref = simulate("charged", n, split_seed(7, split), card.resolved_params(split))
        np.testing.assert_array_equal(ds.position.values, ref.position)
        np.testing.assert_array_equal(ds.velocity.values, ref.velocity)
        np.testing.assert_array_equal(ds.charge.values, ref.variables["charge"])


def test_statistics_of_the_training_split(generated: str, catalog: Path) -> None:
    stats = open_statistics(NAME, data_root=generated, catalog=catalog)
    train = open_dataset(NAME, "train", data_root=generated, catalog=catalog)
    for name in ("position", "velocity"):
        x = train[name].values
        for q, values in ((name, x), (f"{name}_delta", np.diff(x, axis=1))):
            s = stats[q]
            assert s["count"] == values.size
            assert s["min"] == values.min()
            assert s["max"] == values.max()
            np.testing.assert_allclose(
                [s["mean"], s["std"]], [values.mean(), values.std()], rtol=1e-9, atol=1e-15
            )
    val = open_dataset(NAME, "val", data_root=generated, catalog=catalog)
    assert val.attrs["normalisation"] == stats  # every split carries the training statistics


def test_a_rerun_skips_finished_chunks_and_rewrites_lost_ones(
    generated: str, catalog: Path, client: Client
) -> None:
    loc = locate(load_card(NAME, catalog), generated)
    before = store_digest(loc.store)
    again = generate(NAME, data_root=generated, catalog=catalog, client=client, progress=False)
    assert (again.written, again.skipped) == (0, 12)
    # lose two chunks (records, and one chunk file) and mark the store unfinished
    Path(loc.record("train", 3)).unlink()
    Path(loc.record("test", 1)).unlink()
    Path(loc.store, "train/position/c/3/0/0/0").unlink()
    zarr.open_group(loc.store, mode="r+").attrs["state"] = "chunks"
    with pytest.raises(DatasetNotFoundError, match=r"not generated completely.*train chunk 3"):
        open_dataset(NAME, "train", data_root=generated, catalog=catalog)
    resumed = generate(NAME, data_root=generated, catalog=catalog, client=client, progress=False)
    assert (resumed.written, resumed.skipped) == (2, 10)
    assert store_digest(loc.store) == before


def test_opening_what_is_not_there(generated: str, catalog: Path, tmp_path: Path) -> None:
    with pytest.raises(DatasetNotFoundError, match=r"tiny-charged.*fieldlab generate tiny-charged"):
        open_dataset(NAME, "train", data_root=tmp_path, catalog=catalog)
    with pytest.raises(
        DatasetError, match="no split 'validation'; choose one of: train, val, test"
    ):
        open_dataset(NAME, "validation", data_root=generated, catalog=catalog)


def test_pair_couplings_get_distinct_dimension_names(
    catalog: Path, client: Client, tmp_path: Path
) -> None:
    generate("tiny-springs", data_root=tmp_path, catalog=catalog, client=client, progress=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # xarray warns about repeated dimension names
        ds = open_dataset("tiny-springs", "train", data_root=tmp_path, catalog=catalog)
    assert ds.spring_constant.dims == ("sim", "particle", "particle_j")
    c = ds.spring_constant.values
    np.testing.assert_array_equal(c, np.swapaxes(c, 1, 2))
    ref = simulate("springs", 40, split_seed(3, "train"), {"n_steps": 1000})
    np.testing.assert_array_equal(c, ref.variables["spring_constant"])
