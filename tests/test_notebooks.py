"""The seed's story as notebooks (examples/notebooks): each executed as a user would run it, in a
Jupyter kernel, on small data, and judged by what it printed and displayed, not only by running."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

FOLDER = Path(__file__).resolve().parent.parent / "examples" / "notebooks"
#: Where the executed notebooks are left for the documentation build to reuse (docs/build.py).
EXECUTED = Path(__file__).resolve().parent.parent / "build" / "notebooks"


def _facts(notebook) -> dict:
    """The JSON a notebook's last lines print after ``FACTS``."""
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            text = output.get("text", "")
            if output.get("name") == "stdout" and "FACTS " in text:
                return json.loads(text.split("FACTS ", 1)[1].splitlines()[0])
    raise AssertionError("the notebook printed no FACTS line")


def _html(notebook) -> list[str]:
    """Every rich (HTML) display the notebook showed."""
    return [
        output["data"]["text/html"]
        for cell in notebook.cells
        for output in cell.get("outputs", [])
        if "text/html" in output.get("data", {})
    ]


@pytest.fixture(scope="module")
def executed():
    """Each notebook run once, in a kernel of this interpreter, from its own folder."""
    import asyncio

    EXECUTED.mkdir(parents=True, exist_ok=True)
    paths = sorted(FOLDER.glob("*.ipynb"))
    runs = {path.stem: nbformat.read(path, as_version=4) for path in paths}

    async def run_all():  # two kernels at a time: each mostly waits for its interpreter to start
        slots = asyncio.Semaphore(2)

        async def run(notebook):
            async with slots:
                client = nbclient.NotebookClient(
                    notebook, timeout=None, kernel_name="python3", resources={"metadata": {"path": str(FOLDER)}}
                )
                await client.async_execute()

        await asyncio.gather(*(run(notebook) for notebook in runs.values()))

    asyncio.run(run_all())
    for path in paths:
        nbformat.write(runs[path.stem], EXECUTED / path.name)  # the docs site shows these outputs (docs/build.py)
    return runs


def test_every_chapter_of_the_story_is_a_notebook(executed):
    chapters = ["forward_flow", "backprop_chain_rule", "linear_collapse", "sgd_reshuffle", "overfitting",
                "start_small_and_grow", "vanishing_gradients", "batch_normalization"]  # fmt: skip
    assert [name.split("_", 1)[1] for name in executed] == chapters


def test_the_forward_flow_by_hand_is_glassnets(executed):
    notebook = executed["01_forward_flow"]
    assert _facts(notebook)["max_difference"] < 1e-12
    assert any("<b>Sequential</b>" in shown for shown in _html(notebook))  # the network's own display


def test_backprop_by_the_chain_rule_matches_finite_differences(executed):
    facts = _facts(executed["02_backprop_chain_rule"])
    assert facts["passed"] and facts["max_relative_error"] < 1e-6 and facts["by_hand_matches"]


def test_stacked_linear_layers_collapse_and_are_flagged(executed):
    notebook = executed["03_linear_collapse"]
    facts = _facts(notebook)
    assert facts["warned"] and facts["difference"] < 1e-10
    assert any("one affine map" in shown for shown in _html(notebook))


def test_sgd_reshuffles_and_the_same_seed_gives_the_same_weights(executed):
    facts = _facts(executed["04_sgd_reshuffle"])
    assert facts["same_weights"] and facts["accuracy_small_batches"] > 0.8


def test_the_overfitting_onset_is_found_and_shown(executed):
    notebook = executed["05_overfitting"]
    facts = _facts(notebook)
    assert facts["onset"] is not None and facts["restored"] is not None
    assert facts["epochs_with_early_stopping"] < 40  # stopped before the last epoch
    assert any(shown.count("<img") >= 2 and "Learning curves" in shown for shown in _html(notebook))


def test_growing_tries_larger_networks_and_keeps_a_small_one(executed):
    facts = _facts(executed["06_start_small_and_grow"])
    assert facts["candidates"] >= 2 and len(facts["chosen"]) >= 1


def test_vanishing_gradients_in_sigmoid_not_in_relu(executed):
    notebook = executed["07_vanishing_gradients"]
    facts = _facts(notebook)
    sigmoid, relu = facts["sigmoid, small uniform init"], facts["relu, He init"]
    assert sigmoid["vanishing"] and not relu["vanishing"] and sigmoid["ratio"] < relu["ratio"] / 100
    assert any("vanishing gradients since epoch" in shown for shown in _html(notebook))


def test_batch_normalization_before_the_activation_rescues_the_deep_sigmoid(executed):
    facts = _facts(executed["08_batch_normalization"])
    assert facts["True"]["accuracy"] > facts["False"]["accuracy"] + 0.3
    assert facts["False"]["vanishing"] and not facts["True"]["vanishing"]
