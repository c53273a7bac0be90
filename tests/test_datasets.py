"""Data loaders: embedded digits, idx files, Fashion-MNIST lookup and checksummed download."""

import gzip
import hashlib
import http.server
import threading
from functools import partial

import numpy as np
import pytest

import glassnet as gn
from glassnet import datasets


def idx_bytes(array: np.ndarray) -> bytes:
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    return header + array.astype(np.uint8).tobytes()


@pytest.fixture
def tiny_fashion(monkeypatch):
    """Small stand-in files with their own checksums (the real table is for the real files)."""
    rng = np.random.default_rng(0)
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (20, 28, 28)),
        "train-labels-idx1-ubyte": rng.integers(0, 10, 20),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (5, 28, 28)),
        "t10k-labels-idx1-ubyte": rng.integers(0, 10, 5),
    }
    raw = {stem: idx_bytes(a) for stem, a in arrays.items()}
    monkeypatch.setattr(datasets, "FASHION_MNIST_FILES", {s: hashlib.sha256(r).hexdigest() for s, r in raw.items()})
    monkeypatch.setattr(datasets, "STANDARD_LOCATIONS", ())
    monkeypatch.delenv("GLASSNET_DATA", raising=False)
    return arrays, raw


@pytest.fixture
def file_server(tmp_path):
    folder = tmp_path / "served"
    folder.mkdir()
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield folder, f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()


def test_download_from_a_local_server_is_verified_and_cached(tmp_path, tiny_fashion, file_server):
    arrays, raw = tiny_fashion
    served, url = file_server
    for stem, content in raw.items():
        (served / f"{stem}.gz").write_bytes(gzip.compress(content))
    cache = tmp_path / "cache"
    data = datasets.load_fashion_mnist(base_url=url, cache_dir=cache)
    assert data.x.shape == (20, 784) and data.x_test.shape == (5, 784)
    assert np.array_equal(data.y, arrays["train-labels-idx1-ubyte"])
    assert np.allclose(data.x[0], arrays["train-images-idx3-ubyte"][0].ravel() / 255.0)
    assert sorted(p.name for p in cache.iterdir()) == sorted(f"{s}.gz" for s in raw)
    for path in served.iterdir():  # a second call reads the cache, not the server
        path.unlink()
    assert datasets.load_fashion_mnist(base_url=url, cache_dir=cache).x.shape == (20, 784)


def test_a_corrupted_download_is_refused_and_not_kept(tmp_path, tiny_fashion, file_server):
    _, raw = tiny_fashion
    served, url = file_server
    for stem, content in raw.items():
        (served / f"{stem}.gz").write_bytes(gzip.compress(content))
    tampered = bytearray(raw["train-labels-idx1-ubyte"])
    tampered[-1] ^= 1
    (served / "train-labels-idx1-ubyte.gz").write_bytes(gzip.compress(bytes(tampered)))
    cache = tmp_path / "cache"
    with pytest.raises(datasets.DatasetError, match="checksum"):
        datasets.load_fashion_mnist(base_url=url, cache_dir=cache)
    assert not (cache / "train-labels-idx1-ubyte.gz").exists()
    assert not [p for p in cache.iterdir() if p.name.endswith(".part")]


def test_lookup_order_path_then_environment(tmp_path, tiny_fashion, monkeypatch):
    _, raw = tiny_fashion
    folder = tmp_path / "data" / "fashion-mnist"
    folder.mkdir(parents=True)
    for stem, content in raw.items():
        (folder / stem).write_bytes(content)  # uncompressed also works
    monkeypatch.setenv("GLASSNET_DATA", str(tmp_path / "data"))
    assert datasets.load_fashion_mnist(download=False).x.shape == (20, 784)
    monkeypatch.delenv("GLASSNET_DATA")
    with pytest.raises(datasets.DatasetError, match="not found"):
        datasets.load_fashion_mnist(download=False)
    assert datasets.load_fashion_mnist(folder, download=False).x.shape == (20, 784)


def test_idx_reader_rejects_damaged_files(tmp_path):
    good = idx_bytes(np.zeros((3, 2, 2)))
    (tmp_path / "ok.idx").write_bytes(good)
    assert datasets.read_idx(tmp_path / "ok.idx").shape == (3, 2, 2)
    (tmp_path / "short.idx").write_bytes(good[:-1])
    with pytest.raises(datasets.DatasetError, match="truncated"):
        datasets.read_idx(tmp_path / "short.idx")
    (tmp_path / "bad.idx").write_bytes(b"\x01\x02\x03\x04")
    with pytest.raises(datasets.DatasetError, match="not an idx file"):
        datasets.read_idx(tmp_path / "bad.idx")


def test_embedded_digits():
    data = gn.datasets.load_digits()
    assert data.x.shape == (1797, 64) and data.x.dtype == np.float32
    assert 0 <= data.x.min() and data.x.max() <= 1 and set(np.unique(data.y)) == set(range(10))
