"""In a real browser, `fieldlab ui` lands on the runs table, two field runs stay visible, and
pressing Compare on them shows their discovered fields side by side; from the experiments list,
three clicks show the latest comparison's figure; the Models page names each run's model.

Drives headless Chromium (Debian's ``chromium`` and ``chromedriver``) with Selenium against the
MLflow UI started by ``fieldlab ui`` on a store holding two short field runs and a comparison.
Skips, saying why, where no browser is installed. Screenshots land in the test's tmp dir.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import torch
from PIL import Image

import mlflow
from fieldlab.training.config import TrainConfig
from fieldlab.training.field_comparison import FIGURE, SHOWN_WIDTH_PX, TABLE, compare_runs
from fieldlab.training.particles.problem import FIELD_FIGURE
from fieldlab.training.run import train

DATASET = "aether-electrostatic-2d-mini"
RUNS = ("field-a", "field-b")
WAIT_S = 90


def _browser() -> tuple[str, str]:
    """Paths of Chromium and its driver, or skip with the reason."""
    pytest.importorskip("selenium", reason="selenium is not installed (pip install -e .[dev])")
    binary = next(
        (p for n in ("chromium", "chromium-browser", "google-chrome") if (p := shutil.which(n))),
        None,
    )
    driver = shutil.which("chromedriver")
    if binary is None or driver is None:
        pytest.skip("no Chromium and chromedriver on PATH (apt-get install chromium chromedriver)")
    return binary, driver


@pytest.fixture(scope="module")
def store(
    mini_data: Callable[[str], Path], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    """Two short field runs on one dataset and a comparison of them, in a fresh SQLite store."""
    _browser()
    data_root = mini_data(DATASET)
    root = tmp_path_factory.mktemp("ui")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    torch.set_num_threads(1)
    ids = []
    for seed, name in enumerate(RUNS):
        config = TrainConfig(
            dataset=DATASET, model="field", hidden=16, layers=1, epochs=2, lr=3e-3,
            batch_size=100, max_train=40, figure_every=1, patience=None, seed=seed,
            run_name=name, study="ui-test", field={"hidden": 32},
        )  # fmt: skip
        result = train(
            config,
            data_root=data_root,
            tracking_uri=uri,
            checkpoint_root=root / "checkpoints",
            progress=False,
        )
        ids.append(result.run_id)
    cmp = compare_runs(ids, out=root / "cmp.png", tracking_uri=uri, data_root=data_root)
    return {"uri": uri, "root": root, "ids": ids, "comparison": cmp.run_id}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def ui(store: dict[str, Any]) -> Iterator[str]:
    """`fieldlab ui` on the store, bound to 127.0.0.1; yields the runs-table link it prints."""
    port = _free_port()
    fieldlab = str(Path(sys.executable).with_name("fieldlab"))
    cmd = [fieldlab, "ui", "--backend-store-uri", store["uri"]]
    cmd += ["--port", str(port)]
    log = (store["root"] / "ui.log").open("w")
    server = subprocess.Popen(
        cmd, cwd=store["root"], stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            if server.poll() is not None:
                pytest.fail(f"fieldlab ui exited: {(store['root'] / 'ui.log').read_text()}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2):
                    break
            except OSError:
                time.sleep(1)
        else:
            pytest.fail("the MLflow UI did not answer within 180 s")
        printed = (store["root"] / "ui.log").read_text().splitlines()
        link = next(line for line in printed if line.startswith("http://127.0.0.1"))
        yield link
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        log.close()


@pytest.fixture(scope="module")
def browser(store: dict[str, Any]) -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    binary, driver = _browser()
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage"):
        options.add_argument(arg)
    options.add_argument("--window-size=1600,1000")
    chrome = webdriver.Chrome(service=Service(driver), options=options)
    chrome.shots = store["root"]
    try:
        yield chrome
    finally:
        chrome.quit()


def _present(browser: Any, xpath: str) -> Any:
    """The first element at ``xpath`` in the page (maybe scrolled out of view), waited for."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(browser, WAIT_S).until(ec.presence_of_element_located((By.XPATH, xpath)))


def _visible(browser: Any, xpath: str, *, reload: bool = False) -> Any:
    """The first visible element at ``xpath``, waited for (``reload``: the page is reloaded once
    if it is not shown, as a UI still starting may have answered the first load with an error);
    on a timeout the page is kept as ``timeout.png`` beside the store."""
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    for attempt in range(2 if reload else 1):
        try:
            return WebDriverWait(browser, WAIT_S).until(
                ec.visibility_of_element_located((By.XPATH, xpath))
            )
        except TimeoutException:
            browser.save_screenshot(str(browser.shots / f"timeout{attempt}.png"))
            browser.refresh()
    raise AssertionError(f"not shown within {WAIT_S} s: {xpath} at {browser.current_url}")


def test_the_printed_link_opens_the_runs_table(store: dict[str, Any], ui: str) -> None:
    mlflow.set_tracking_uri(store["uri"])
    experiment = mlflow.get_run(store["ids"][0]).info.experiment_id
    assert ui.endswith(f"/#/experiments/{experiment}/runs")


def test_compare_shows_both_discovered_fields_side_by_side(
    store: dict[str, Any], ui: str, browser: Any, tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By

    browser.get(ui)
    # (a) both field runs are rows of the runs table as it opens, nothing expanded
    links = {
        name: _visible(browser, f"//a[normalize-space()='{name}']", reload=True) for name in RUNS
    }
    browser.save_screenshot(str(tmp_path / "runs_table.png"))
    for name, link in links.items():
        assert link.is_displayed(), name
        row = link.find_element(By.XPATH, "./ancestor::*[@role='row'][1]")
        index = row.get_attribute("row-index")
        (box,) = browser.find_elements(
            By.XPATH, f"//*[@role='row' and @row-index='{index}']//input[@type='checkbox']"
        )[:1]
        browser.execute_script("arguments[0].click()", box)
    # (b) Compare, then the field figure: each run's true | learned | error, side by side
    _visible(browser, "//button[normalize-space()='Compare']").click()
    node = _present(
        browser, f"//*[@data-testid='artifact-tree-node' and @aria-label='{FIELD_FIGURE}']"
    )
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", node)
    browser.execute_script("arguments[0].click()", node)
    time.sleep(2)
    _visible(browser, "//img[starts-with(@src, 'blob:')]")
    previews = {
        img.get_attribute("src")
        for img in browser.find_elements(By.XPATH, "//img[starts-with(@src, 'blob:')]")
        if img.is_displayed()
    }
    browser.execute_script(
        "arguments[0].scrollIntoView()",
        browser.find_element(By.XPATH, "//*[normalize-space()='Artifacts']"),
    )
    browser.save_screenshot(str(tmp_path / "compare.png"))
    assert "compare-runs" in browser.current_url
    assert all(rid in browser.current_url for rid in store["ids"])
    assert len(previews) == 2  # one figure per run


def test_the_comparison_table_names_both_runs(
    store: dict[str, Any], ui: str, browser: Any, tmp_path: Path
) -> None:
    base = ui.split("#")[0]
    browser.get(f"{base}#/experiments/{_experiment(store)}/runs/{store['comparison']}/artifacts")
    from selenium.webdriver.common.by import By

    node = _present(browser, f"//*[@data-testid='artifact-tree-node' and @aria-label='{TABLE}']")
    browser.execute_script("arguments[0].click()", node)
    for name in RUNS:
        _visible(browser, f"//*[contains(normalize-space(), '{name}') and not(*)]")
    browser.save_screenshot(str(tmp_path / "comparison_table.png"))
    body = browser.find_element(By.TAG_NAME, "body").text
    assert all(name in body for name in RUNS)
    table = json.loads(
        Path(mlflow.artifacts.download_artifacts(run_id=store["comparison"], artifact_path=TABLE))
        .read_text()
    )  # fmt: skip
    assert "run_name" in table["columns"]


def _experiment(store: dict[str, Any]) -> str:
    mlflow.set_tracking_uri(store["uri"])
    return mlflow.get_run(store["comparison"]).info.experiment_id


def test_three_clicks_from_the_experiments_list_show_both_fields_and_their_errors(
    store: dict[str, Any], ui: str, browser: Any, tmp_path: Path
) -> None:
    """In a browser new to the UI: **Model training** (1), the experiment (2), the arrow that
    expands its description (3); the latest comparison's figure is then whole on the page."""
    from selenium.webdriver.common.by import By

    base = ui.split("#")[0]
    browser.get(f"{base}#/experiments")
    browser.execute_script("window.localStorage.clear()")  # a first visit: GenAI mode
    browser.refresh()
    clicks: list[str] = []

    def click(xpath: str) -> None:
        _visible(browser, xpath, reload=not clicks).click()  # a real click: nothing covers it
        clicks.append(xpath)
        time.sleep(1)
        browser.save_screenshot(str(tmp_path / f"click{len(clicks)}.png"))

    name = mlflow.get_experiment(_experiment(store)).name
    click("//*[@role='button' and normalize-space()='Model training']")
    click(f"//a[normalize-space()='{name}']")
    click("//button[@data-component-id='mlflow.experiment.metadata_editor.expand_button']")
    figure = _visible(browser, f"//img[contains(@src, '{FIGURE}&run_uuid={store['comparison']}')]")
    _wait(browser, lambda: figure.get_attribute("naturalWidth") != "0")
    browser.save_screenshot(str(tmp_path / "latest_comparison.png"))
    assert len(clicks) == 3
    assert "/runs" in browser.current_url  # the runs page, above the runs table
    # the comparison's own figure, whole: not cut by its box nor below the window
    logged = Path(
        mlflow.artifacts.download_artifacts(run_id=store["comparison"], artifact_path=FIGURE)
    )
    with Image.open(logged) as image:
        width, height = image.size
    assert int(figure.get_attribute("naturalWidth")) == width <= SHOWN_WIDTH_PX
    assert int(figure.get_attribute("naturalHeight")) == height
    box = browser.execute_script(_CLIPPED_BY, figure)
    shown = figure.rect
    assert shown["x"] + shown["width"] <= box["x"] + box["width"] + 1
    assert shown["y"] + shown["height"] <= browser.execute_script("return innerHeight")
    caption = figure.find_element(By.XPATH, "./preceding::p[1]").text
    assert all(run in caption for run in RUNS), caption


def test_the_models_page_names_each_model_after_its_run(
    store: dict[str, Any], ui: str, browser: Any, tmp_path: Path
) -> None:
    base = ui.split("#")[0]
    browser.get(f"{base}#/experiments/{_experiment(store)}/models")
    browser.refresh()  # a fresh page: the description expanded by the test above folds again
    for run in RUNS:
        _visible(browser, f"//a[normalize-space()='field-{run}']")
    browser.save_screenshot(str(tmp_path / "models.png"))


_CLIPPED_BY = """
let e = arguments[0].parentElement;
while (e && getComputedStyle(e).overflowX === 'visible') e = e.parentElement;
return (e || document.documentElement).getBoundingClientRect();
"""
"""The rectangle of the nearest box around an element that crops what overflows it."""


def _wait(browser: Any, done: Callable[[], bool]) -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(browser, WAIT_S).until(lambda _: done())
