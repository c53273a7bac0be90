"""Model files: round trip, hostile and damaged files, property-based mutation, atomic writes, ONNX."""

import json
import os
import pickle
import struct

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import glassnet as gn
from glassnet.io.modelfile import FORMAT_VERSION, to_bytes


@pytest.fixture(scope="module")
def trained():
    net = gn.mlp([12, 8], 3, batch_norm=True, dropout=0.1, output_activation="softmax", input_dim=5, seed=0)
    x = np.random.default_rng(0).normal(size=(120, 5)).astype(np.float32)
    history = gn.fit(net, x, np.arange(120) % 3, epochs=4, validation_split=0.25)
    return net, x, history


@pytest.fixture(scope="module")
def model_bytes(trained, tmp_path_factory):
    net, _, history = trained
    path = tmp_path_factory.mktemp("m") / "model.glassnet"
    gn.save_model(
        net,
        path,
        task="multiclass",
        classes=["a", "b", "c"],
        history=history,
        preprocessing={"kind": "standardize"},
        preprocessing_arrays={"mean": np.zeros(5)},
        metadata={"note": "test"},
    )
    return path.read_bytes()


def test_round_trip_keeps_everything(trained, tmp_path):
    net, x, history = trained
    path = gn.save_model(net, tmp_path / "m.glassnet", task="multiclass", classes=["a", "b", "c"], history=history)
    model = gn.load_model(path)
    assert np.array_equal(model.network.predict(x), net.predict(x))
    assert model.classes == ["a", "b", "c"] and model.task == "multiclass"
    assert model.history["epochs"] == [1, 2, 3, 4]
    assert model.glassnet_version == gn.__version__
    assert all(np.array_equal(a, b) for a, b in zip(model.network.buffers().values(), net.buffers().values()))


def test_no_pickle_in_the_load_path():
    import inspect

    import glassnet.io.modelfile as modelfile

    source = inspect.getsource(modelfile)
    assert "pickle.load" not in source and "import pickle" not in source


def test_hostile_pickle_file_is_refused_without_running_code(tmp_path):
    marker = tmp_path / "pwned"

    class Exploit:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    path = tmp_path / "evil.glassnet"
    path.write_bytes(pickle.dumps(Exploit()))
    with pytest.raises(gn.ModelFileError, match="pickle"):
        gn.load_model(path)
    assert not marker.exists()


def test_hostile_metadata_is_refused(tmp_path, trained):
    net = trained[0]
    state = net.state_dict()

    def write(meta, tensors=state):
        path = tmp_path / "hostile.glassnet"
        path.write_bytes(to_bytes(meta, tensors))
        return path

    base = {"format": "glassnet-model", "format_version": FORMAT_VERSION, "architecture": net.config()}
    # A layer type naming something executable.
    evil = json.loads(json.dumps(base))
    evil["architecture"]["layers"][0]["type"] = "os.system"
    with pytest.raises(gn.ModelFileError, match="layers/0/type: 'os.system' does not match"):
        gn.load_model(write(evil))
    # A well-formed name that is no registered layer type: refused by name, with the known ones.
    evil["architecture"]["layers"][0]["type"] = "System"
    with pytest.raises(gn.ModelFileError, match="layer 0 has unknown type 'System'; allowed: .*'Dense'"):
        gn.load_model(write(evil))
    # An unexpected constructor argument (a path trick / code string).
    evil = json.loads(json.dumps(base))
    evil["architecture"]["layers"][0]["init"] = {"__class__": "subprocess.Popen"}
    with pytest.raises(gn.ModelFileError, match="layers/0/init"):
        gn.load_model(write(evil))
    evil = json.loads(json.dumps(base))
    evil["architecture"]["layers"][0]["name"] = "../../etc/passwd"
    with pytest.raises(gn.ModelFileError, match="layers/0/name"):
        gn.load_model(write(evil))
    # Tensors with path-like names are simply unexpected.
    with pytest.raises(gn.ModelFileError, match="unexpected"):
        gn.load_model(write(base, {**state, "../../../tmp/x": np.zeros(1, np.float32)}))


def test_newer_format_version_missing_extra_and_mismatched_tensors(tmp_path, trained):
    net = trained[0]
    state = net.state_dict()
    base = {"format": "glassnet-model", "format_version": FORMAT_VERSION, "architecture": net.config()}
    path = tmp_path / "m.glassnet"
    path.write_bytes(to_bytes({**base, "format_version": FORMAT_VERSION + 1}, state))
    with pytest.raises(gn.ModelFileError, match="newer than this glassnet"):
        gn.load_model(path)
    missing = dict(state)
    missing.pop("dense_1.W")
    path.write_bytes(to_bytes(base, missing))
    with pytest.raises(gn.ModelFileError, match=r"missing \['dense_1.W'\]"):
        gn.load_model(path)
    path.write_bytes(to_bytes(base, {**state, "dense_9.W": np.zeros(2, np.float32)}))
    with pytest.raises(gn.ModelFileError, match=r"unexpected \['dense_9.W'\]"):
        gn.load_model(path)
    path.write_bytes(to_bytes(base, {**state, "dense_1.W": np.zeros((3, 3), np.float32)}))
    with pytest.raises(gn.ModelFileError, match="shape"):
        gn.load_model(path)
    path.write_bytes(to_bytes(base, {**state, "dense_1.W": state["dense_1.W"].astype(np.float64)}))
    with pytest.raises(gn.ModelFileError, match="dtype"):
        gn.load_model(path)


@pytest.mark.parametrize("content", [b"", b"garbage bytes", os.urandom(4096), b"\xff" * 8 + b"{}"])
def test_garbage_and_truncated_files(tmp_path, content, model_bytes):
    path = tmp_path / "bad.glassnet"
    path.write_bytes(content)
    with pytest.raises(gn.ModelFileError):
        gn.load_model(path)
    for cut in (7, 8, 100, len(model_bytes) // 2, len(model_bytes) - 1):
        path.write_bytes(model_bytes[:cut])
        with pytest.raises(gn.ModelFileError):
            gn.load_model(path)


def test_missing_file_error():
    with pytest.raises(gn.ModelFileError, match="no such model file"):
        gn.load_model("/nonexistent/model.glassnet")


def _load_or_error(path, data, reference_x, reference_prediction):
    path.write_bytes(bytes(data))
    try:
        model = gn.load_model(path)
    except gn.ModelFileError:
        return "error"
    assert np.array_equal(model.network.predict(reference_x), reference_prediction)
    return "loaded"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_mutated_files_load_identically_or_raise_the_documented_error(tmp_path, trained, model_bytes, data):
    net, x, _ = trained
    reference = net.predict(x)
    raw = bytearray(model_bytes)
    mutation = data.draw(st.sampled_from(["truncate", "flip", "json"]))
    if mutation == "truncate":
        raw = raw[: data.draw(st.integers(0, len(raw) - 1))]
    elif mutation == "flip":
        for _ in range(data.draw(st.integers(1, 4))):
            raw[data.draw(st.integers(0, len(raw) - 1))] ^= data.draw(st.integers(1, 255))
    else:  # edit the JSON header: replace one character with another printable one
        header_length = struct.unpack("<Q", bytes(raw[:8]))[0]
        position = data.draw(st.integers(8, 8 + header_length - 1))
        raw[position] = ord(data.draw(st.characters(min_codepoint=32, max_codepoint=126)))
    _load_or_error(tmp_path / "mutated.glassnet", raw, x, reference)


def test_unchanged_file_loads(tmp_path, trained, model_bytes):
    net, x, _ = trained
    assert _load_or_error(tmp_path / "same.glassnet", model_bytes, x, net.predict(x)) == "loaded"


def test_save_is_atomic_and_refuses_to_overwrite_when_asked(tmp_path, trained, monkeypatch):
    net = trained[0]
    path = gn.save_model(net, tmp_path / "m.glassnet")
    before = path.read_bytes()
    with pytest.raises(FileExistsError):
        gn.save_model(net, path, overwrite=False)
    import glassnet.io.atomic as atomic

    def crash(*args, **kwargs):
        raise OSError("power cut (simulated)")

    monkeypatch.setattr(atomic.os, "replace", crash)
    with pytest.raises(OSError, match="simulated"):
        gn.save_model(net, path, metadata={"new": True})
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.glassnet"]


@pytest.mark.parametrize("fold", [True, False])
def test_onnx_export_matches_glassnet(tmp_path, fold):
    ort = pytest.importorskip("onnxruntime", reason="onnxruntime not installed (optional export extra)")
    net = gn.Sequential(
        [
            gn.Dense(16),
            gn.BatchNorm(),
            gn.LeakyReLU(0.1),
            gn.Dropout(0.2),
            gn.Dense(8, use_bias=False),
            gn.BatchNorm(),
            gn.Tanh(),
            gn.Dense(8),
            gn.Sigmoid(),
            gn.Dense(3),
            gn.Softmax(),
        ],
        input_dim=5,
    )
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 5)).astype(np.float32)
    gn.fit(net, x, np.arange(300) % 3, epochs=3)
    mean, scale = rng.normal(size=5).astype(np.float32), rng.uniform(0.5, 2, 5).astype(np.float32)
    path = gn.export_onnx(net, tmp_path / "m.onnx", mean=mean, scale=scale, fold_batch_norm=fold)
    session = ort.InferenceSession(str(path))
    raw = rng.normal(size=(100, 5)).astype(np.float32)
    got = session.run(None, {"input": raw})[0]
    assert np.max(np.abs(got - net.predict((raw - mean) / scale))) < 1e-5
