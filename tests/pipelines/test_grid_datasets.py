"""Grid (PDE) datasets through the whole pipeline: schema, numbers, statistics, verification, cards."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from distributed import Client

from fieldlab.catalog import load_card, open_dataset, open_statistics, verify
from fieldlab.catalog.seeds import split_seed
from fieldlab.pipelines import generate
from fieldlab.pipelines.validation import invalid
from fieldlab.simulators import VARIABLES, simulate
from tests.pipelines.helpers import write_card

TEST_REGION = [-2.0, 0.0]

DIFFUSION = {
    "name": "tiny-diffusion",
    "description": "ENF diffusion, 5 frames",
    "simulator": "diffusion-plane",
    "params": {"n_steps": 6},
    "splits": {"train": 12, "test": {"n_sims": 3, "params": {"source_y": TEST_REGION}}},
    "seed": 3,
    "chunk_size": 4,
    "reference": "Knigge, Wessels et al. 2024 (shortened)",
}

NAVIER_STOKES = {
    "name": "tiny-navier-stokes",
    "description": "forced turbulence on a 16 x 16 torus, 4 frames",
    "simulator": "navier-stokes-torus",
    "params": {"n": 16, "warmup_steps": 20, "n_steps": 41, "sample_every": 10},
    "splits": {"train": 4, "test": 2},
    "seed": 4,
    "chunk_size": 2,
    "reference": "Knigge, Wessels et al. 2024 (shortened)",
}


@pytest.fixture(scope="module")
def grid_catalog(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("grid-catalog")
    write_card(directory, DIFFUSION)
    write_card(directory, NAVIER_STOKES)
    return directory


@pytest.fixture(scope="module")
def generated(grid_catalog: Path, client: Client, tmp_path_factory: pytest.TempPathFactory) -> str:
    root = str(tmp_path_factory.mktemp("grid-data"))
    for card, chunks in ((DIFFUSION, 4), (NAVIER_STOKES, 3)):
        summary = generate(
            card["name"], data_root=root, catalog=grid_catalog, client=client, progress=False
        )
        assert (summary.chunks, summary.written) == (chunks, chunks)
    return root


def test_diffusion_dataset_is_sim_time_y_x_with_grid_coordinates(
    generated: str, grid_catalog: Path
) -> None:
    for split, n_sims in (("train", 12), ("test", 3)):
        ds = open_dataset("tiny-diffusion", split, data_root=generated, catalog=grid_catalog)
        assert dict(ds.sizes) == {"sim": n_sims, "time": 5, "y": 64, "x": 64}
        assert ds.concentration.dims == ("sim", "time", "y", "x")
        assert "space" not in ds.coords
        assert ds.concentration.chunks[0][0] == min(4, n_sims)
        np.testing.assert_allclose(ds.time, [0.07, 0.08, 0.09, 0.10, 0.11])
        np.testing.assert_allclose(ds.x, -3 + (np.arange(64) + 0.5) * 6 / 64)
        np.testing.assert_allclose(ds.y, ds.x)
        assert (ds.x.attrs["axis"], ds.y.attrs["axis"]) == ("X", "Y")
        v = VARIABLES["concentration"]
        assert ds.concentration.attrs["long_name"] == v.long_name
        assert ds.concentration.attrs["tensor_order"] == 0


def test_stored_fields_are_the_simulators_bytes_with_each_splits_source_region(
    generated: str, grid_catalog: Path
) -> None:
    card = load_card("tiny-diffusion", grid_catalog)
    for split in ("train", "test"):
        ds = open_dataset("tiny-diffusion", split, data_root=generated, catalog=grid_catalog)
        direct = simulate(
            "diffusion-plane",
            card.splits[split].n_sims,
            split_seed(3, split),
            card.resolved_params(split),
        )
        stored = ds.concentration.values
        assert stored.tobytes() == direct.variables["concentration"].tobytes()
        n = stored.shape[0]
        iy = np.unravel_index(stored[:, 0].reshape(n, -1).argmax(axis=1), (64, 64))[0]
        sign = 1 if split == "train" else -1
        assert np.all(sign * ds.y.values[iy] > 0)  # train sources above y = 0, test below


def test_navier_stokes_dataset_has_vorticity_velocity_and_shared_forcing(
    generated: str, grid_catalog: Path
) -> None:
    ds = open_dataset("tiny-navier-stokes", "train", data_root=generated, catalog=grid_catalog)
    assert ds.vorticity.dims == ("sim", "time", "y", "x")
    assert ds.velocity_field.dims == ("sim", "time", "y", "x", "component")
    assert ds.forcing.dims == ("y", "x")
    assert dict(ds.sizes) == {"sim": 4, "time": 4, "y": 16, "x": 16, "component": 2}
    assert list(ds.component.values) == ["x", "y"]
    assert ds.velocity_field.attrs["tensor_order"] == 1
    np.testing.assert_allclose(ds.x, np.arange(16) / 16)
    np.testing.assert_allclose(ds.time, [0.3, 0.4, 0.5, 0.6])
    card = load_card("tiny-navier-stokes", grid_catalog)
    direct = simulate(
        "navier-stokes-torus", 4, split_seed(4, "train"), card.resolved_params("train")
    )
    assert ds.vorticity.values.tobytes() == direct.variables["vorticity"].tobytes()
    np.testing.assert_array_equal(ds.forcing.values, direct.variables["forcing"])


def test_grid_statistics_cover_each_field_and_its_frame_differences(
    generated: str, grid_catalog: Path
) -> None:
    stats = open_statistics("tiny-navier-stokes", data_root=generated, catalog=grid_catalog)
    assert set(stats) == {
        "vorticity",
        "vorticity_delta",
        "velocity_field",
        "velocity_field_delta",
    }
    ds = open_dataset("tiny-navier-stokes", "train", data_root=generated, catalog=grid_catalog)
    w = ds.vorticity.values
    assert stats["vorticity"]["count"] == w.size
    np.testing.assert_allclose(stats["vorticity"]["mean"], w.mean(), atol=1e-12)
    np.testing.assert_allclose(stats["vorticity"]["std"], w.std(), rtol=1e-10)
    np.testing.assert_allclose(
        stats["vorticity_delta"]["std"], np.diff(w, axis=1).std(), rtol=1e-10
    )
    uv = ds.velocity_field.values
    np.testing.assert_allclose(stats["velocity_field"]["max"], uv.max())


def test_grid_datasets_verify(generated: str, grid_catalog: Path) -> None:
    for name, chunks in (("tiny-diffusion", 4), ("tiny-navier-stokes", 3)):
        report = verify(name, data_root=generated, catalog=grid_catalog)
        assert report.ok, report.problems
        assert report.checked == chunks


def test_validation_checks_grid_fields_against_max_abs() -> None:
    r = simulate("diffusion-plane", 3, seed=0, params={"n_steps": 3})
    assert not invalid(r, 10.0).any()
    assert invalid(r, 0.01).all()  # the source's peak exceeds it


def test_shipped_grid_cards_reproduce_the_published_setting() -> None:
    diff = load_card("diffusion-plane")
    assert (diff.splits["train"].n_sims, diff.splits["test"].n_sims) == (2048, 32)
    assert diff.resolved_params("train")["source_y"] == [0.0, 2.0]
    assert diff.resolved_params("test")["source_y"] == TEST_REGION
    ns = load_card("navier-stokes-torus")
    assert ns.resolved_params("train")["viscosity"] == 1e-3
    for full in (diff, ns):
        mini = load_card(f"{full.name}-mini")
        assert mini.simulator == full.simulator
        assert mini.splits["train"].n_sims <= max(1, full.splits["train"].n_sims // 100)
        for split in full.split_names():
            assert mini.n_frames(split) == full.n_frames(split) == 20
            assert mini.resolved_params(split) == full.resolved_params(split)
