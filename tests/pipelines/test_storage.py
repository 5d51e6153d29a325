"""Data roots that are URLs: an fsspec object store (``memory://``) and ``file://`` paths."""

from __future__ import annotations

from pathlib import Path

import fsspec
import numpy as np
from distributed import Client

from fieldlab.catalog import data_root, load_card, locate, open_dataset, repair, verify
from fieldlab.pipelines import generate
from fieldlab.simulators import simulate

NAME = "tiny-charged"


def test_generate_verify_and_open_on_an_object_store(catalog: Path) -> None:
    root = "memory://fieldlab-test/data"
    # fsspec's memory store lives in this process, so the cluster's workers are threads here
    with Client(processes=False, n_workers=1, threads_per_worker=2, dashboard_address=None) as c:
        summary = generate(NAME, data_root=root, catalog=catalog, client=c, progress=False)
    assert summary.written == 12
    loc = locate(load_card(NAME, catalog), root)
    assert loc.store.startswith("memory://fieldlab-test/data/tiny-charged/")
    fs = fsspec.filesystem("memory")
    assert fs.exists(f"{loc.records}/train/000007.json")
    assert verify(NAME, data_root=root, catalog=catalog).ok
    ds = open_dataset(NAME, "val", data_root=root, catalog=catalog)
    ref = simulate("charged", 60, ds.attrs["split_seed"], ds.attrs["params"])
    np.testing.assert_array_equal(ds.position.values, ref.position)
    direct = open_dataset(NAME, "val", data_root=root, catalog=catalog, dask=False)
    assert ds.position.chunks is not None
    assert direct.position.chunks is None  # no dask arrays
    np.testing.assert_array_equal(direct.position.isel(sim=slice(1, 3)).values, ref.position[1:3])
    assert not fs.exists(loc.lock)  # the writer lock was taken in the object store and released

    # damage in the object store is found and repaired there too
    key = f"{loc.store}/val/time/c/0"
    good = fs.cat_file(key)
    fs.pipe_file(key, bytes(len(good)))
    report = verify(NAME, data_root=root, catalog=catalog)
    assert [(p.split, p.problem) for p in report.problems] == [
        ("val", "corrupted: coordinate time of split val")
    ]
    assert repair(report, data_root=root, catalog=catalog).restored == ["val/time/c/0"]
    assert fs.cat_file(key) == good
    assert verify(NAME, data_root=root, catalog=catalog).ok
    fs.rm("/fieldlab-test", recursive=True)


def test_data_root_resolution(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FIELDLAB_DATA", raising=False)
    assert data_root() == str(tmp_path / "data")
    monkeypatch.setenv("FIELDLAB_DATA", "s3://bucket/prefix/")
    assert data_root() == "s3://bucket/prefix"
    assert data_root("rel") == str(tmp_path / "rel")  # the argument wins
    assert data_root(f"file://{tmp_path}/x") == str(tmp_path / "x")
