"""Files that lie: metadata of the wrong shape and declarations of huge layers, in files whose digest is
correct (anyone can compute it). Only ModelFileError may come out, the command line exits 2, and
loading costs at most a small multiple of the file's size (issue #14, items 10 and 11)."""

import json
import tracemalloc

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import glassnet as gn
from glassnet.cli import main
from glassnet.io.checkpoint import write_checkpoint
from glassnet.io.modelfile import FORMAT_VERSION, ModelFileError, to_bytes

JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**12), 10**12)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4),
    max_leaves=12,
)


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A real model written by the command line: its metadata has every part glassnet writes."""
    import pandas as pd

    folder = tmp_path_factory.mktemp("hostile")
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"amount": rng.normal(size=80), "city": rng.choice(["paris", "lyon"], 80)})
    frame["y"] = np.where(frame["amount"] > 0, "yes", "no")
    frame.to_csv(folder / "t.csv", index=False)
    assert (
        main(
            [
                "train",
                str(folder / "t.csv"),
                "--target",
                "y",
                "--out",
                str(folder / "m"),
                "--epochs",
                "3",
                "--hidden",
                "8,8",
                "--quiet",
            ]
        )
        == 0
    )
    from safetensors import safe_open

    path = folder / "m" / "model.glassnet"
    with safe_open(str(path), "numpy") as handle:
        meta = json.loads(handle.metadata()["glassnet"])
        tensors = {name: handle.get_tensor(name) for name in handle.keys()}
    return meta, tensors


def _write(path, meta, tensors):
    path.write_bytes(to_bytes(meta, tensors))  # a correct digest: only the content lies
    return path


@pytest.mark.parametrize("meta", [None, [], [1, 2], 5, "glassnet-model", True])
def test_metadata_that_is_not_an_object_is_a_model_file_error(tmp_path, saved, meta, capsys):
    import hashlib

    from safetensors.numpy import save

    meta_json = json.dumps(meta)
    hasher = hashlib.sha256(meta_json.encode())
    for name in sorted(saved[1]):
        array = np.ascontiguousarray(saved[1][name])
        hasher.update(f"\0{name}\0{array.dtype.str}\0{array.shape}\0".encode())
        hasher.update(array.tobytes())
    path = tmp_path / "m.glassnet"
    path.write_bytes(save(saved[1], metadata={"glassnet": meta_json, "glassnet_sha256": hasher.hexdigest()}))
    with pytest.raises(ModelFileError, match="invalid metadata"):
        gn.load_model(path)
    assert main(["inspect", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("glassnet: error:") and len(err.strip().splitlines()) == 1


def _replace(document, path, value):
    """A copy of ``document`` with the element at ``path`` (a list of keys) replaced."""
    document = json.loads(json.dumps(document))
    target = document
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return document


def _paths(document, prefix=()):
    yield prefix
    if isinstance(document, dict):
        for key, value in document.items():
            yield from _paths(value, prefix + (key,))
    elif isinstance(document, list):
        for index, value in enumerate(document[:3]):
            yield from _paths(value, prefix + (index,))


def _use_everything(model):
    """What the commands do with a loaded model: summary, inspect facts, report."""
    from glassnet.app.report import render_report

    model.network.summary()
    render_report(model)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(data=st.data())
def test_any_metadata_loads_and_works_or_is_refused_as_a_model_file_error(tmp_path_factory, saved, data):
    meta, tensors = saved
    paths = [p for p in _paths(meta) if p]
    where = data.draw(st.sampled_from(paths))
    hostile = _replace(meta, list(where), data.draw(JSON))
    path = _write(tmp_path_factory.mktemp("h") / "m.glassnet", hostile, tensors)
    try:
        model = gn.load_model(path)
    except ModelFileError:
        return
    _use_everything(model)  # what loaded must also be usable: no AttributeError/TypeError later


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_checkpoint_metadata_resumes_or_is_refused_as_a_model_file_error(tmp_path_factory, data):
    folder = tmp_path_factory.mktemp("c")
    x = np.random.default_rng(0).normal(size=(40, 3))
    y = (x[:, 0] > 0).astype(int)

    def run(resume):
        net = gn.mlp([4], 2, output_activation="softmax", seed=0)
        return gn.fit(
            net,
            x,
            y,
            epochs=2,
            batch_size=16,
            validation_split=0.25,
            checkpoint=folder / "c.ckpt",
            resume=resume,
            callbacks=[gn.EarlyStopping(), gn.ReduceLROnPlateau()],
        )

    run(False)
    from safetensors import safe_open

    with safe_open(str(folder / "c.ckpt"), "numpy") as handle:
        meta = json.loads(handle.metadata()["glassnet"])
        tensors = {name: handle.get_tensor(name) for name in handle.keys()}
    where = data.draw(st.sampled_from([p for p in _paths(meta) if p]))
    (folder / "c.ckpt").write_bytes(to_bytes(_replace(meta, list(where), data.draw(JSON)), tensors))
    try:
        run(True)
    except ModelFileError:
        pass


def test_a_small_file_declaring_a_huge_layer_is_refused_before_allocating(tmp_path):
    net = gn.mlp([8], 2, output_activation="softmax", input_dim=4)
    state = net.state_dict()
    config = net.config()
    config["layers"][0]["units"] = 5_000_000  # 4 × 5M + 5M × 2 values: 120 MB in float32
    path = _write(
        tmp_path / "huge.glassnet",
        {"format": "glassnet-model", "format_version": FORMAT_VERSION, "architecture": config},
        state,
    )
    size = path.stat().st_size
    tracemalloc.start()
    try:
        with pytest.raises(ModelFileError, match="declares 35,000,002 parameter values"):
            gn.load_model(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 20 * size + 2_000_000, (peak, size)


def test_a_checkpoint_with_foreign_metadata_types_is_refused(tmp_path):
    write_checkpoint(tmp_path / "c.ckpt", {"fingerprint": None, "epoch": "one"})
    x = np.zeros((8, 2))
    with pytest.raises(ModelFileError, match="invalid metadata"):
        gn.fit(
            gn.mlp([4], 2, output_activation="softmax"),
            x,
            np.arange(8) % 2,
            checkpoint=tmp_path / "c.ckpt",
            resume=True,
        )


def test_files_that_stored_non_finite_floats_as_text_still_load(tmp_path, saved):
    """glassnet before 0.5 wrote NaN and infinity as the strings "nan", "inf" and "-inf"."""
    meta, tensors = saved
    legacy = _replace(meta, ["metadata", "test_metrics", "log_loss"], "inf")
    legacy = _replace(legacy, ["history", "history", "val_loss", 0], "nan")
    model = gn.load_model(_write(tmp_path / "old.glassnet", legacy, tensors))
    assert model.metadata["test_metrics"]["log_loss"] == float("inf")
    assert np.isnan(model.history["history"]["val_loss"][0])
    _use_everything(model)
