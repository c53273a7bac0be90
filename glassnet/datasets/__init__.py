"""Datasets: the embedded digits, MNIST-format idx files, and Fashion-MNIST from disk or download.

Fashion-MNIST is looked for, in order, in the ``path`` given, in ``$GLASSNET_DATA`` (and its
``fashion-mnist`` sub-folder), in standard locations (Debian's ``/usr/share/datasets/fashion-mnist``,
``~/.cache/glassnet/fashion-mnist``), and otherwise downloaded into the cache. Every file is
verified by the SHA-256 of its *decompressed* content, so recompressed copies (as Debian's) pass
and corrupted or substituted ones do not.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import tempfile
import urllib.request
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

FASHION_MNIST_URL = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"

#: SHA-256 of the decompressed idx content of each official file.
FASHION_MNIST_FILES = {
    "train-images-idx3-ubyte": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
    "train-labels-idx1-ubyte": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
    "t10k-images-idx3-ubyte": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
    "t10k-labels-idx1-ubyte": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
}

FASHION_MNIST_CLASSES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)

CACHE_DIR = Path.home() / ".cache" / "glassnet" / "fashion-mnist"
STANDARD_LOCATIONS = (Path("/usr/share/datasets/fashion-mnist"), CACHE_DIR)


class DatasetError(ValueError):
    """A dataset file is missing, malformed or fails its checksum."""


@dataclass
class Dataset:
    """Arrays plus what they are. ``x`` is (n, features) float32 in [0, 1] for images."""

    x: np.ndarray
    y: np.ndarray
    classes: tuple[str, ...]
    image_shape: tuple[int, ...] | None = None
    x_test: np.ndarray | None = None
    y_test: np.ndarray | None = None
    description: str = ""


def load_digits() -> Dataset:
    """The 1,797 8×8 handwritten digits (UCI, as bundled with scikit-learn), embedded in glassnet.

    Returns pixels scaled to [0, 1] as float32 (n, 64) and labels 0–9.
    """
    with resources.files(__package__).joinpath("data/digits.npz").open("rb") as handle:
        data = np.load(handle)
        images, target = data["images"], data["target"]
    x = (images.reshape(len(images), -1) / 16.0).astype(np.float32)
    return Dataset(
        x,
        target.astype(np.int64),
        tuple(str(i) for i in range(10)),
        (8, 8),
        description="UCI optical digits, 8x8 grayscale, 1,797 samples, 10 classes",
    )


def read_idx(path: str | Path) -> np.ndarray:
    """Read an idx file (MNIST format), gzip-compressed or not.

    Raises
    ------
    DatasetError
        If the header is malformed or the size does not match it.
    """
    return parse_idx(_read_maybe_gzip(Path(path)), str(path))


def _read_maybe_gzip(path: Path) -> bytes:
    if not path.is_file():
        raise DatasetError(f"no such file: {path}")
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        try:
            return gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise DatasetError(f"{path} is not a valid gzip file: {exc}") from exc
    return raw


_IDX_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def parse_idx(raw: bytes, name: str = "idx data") -> np.ndarray:
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_TYPES:
        raise DatasetError(f"{name} is not an idx file (bad magic number {raw[:4]!r}).")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DatasetError(f"{name}: truncated header.")
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    dtype = np.dtype(_IDX_TYPES[raw[2]])
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(raw) - header != expected:
        raise DatasetError(
            f"{name}: header says shape {shape} ({expected} bytes of data) but the file "
            f"holds {len(raw) - header} bytes; it is truncated or corrupted."
        )
    return np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape)


def _find_file(stem: str, folders: list[Path]) -> Path | None:
    for folder in folders:
        for candidate in (folder / f"{stem}.gz", folder / stem):
            if candidate.is_file():
                return candidate
    return None


def _verified(path: Path, stem: str) -> np.ndarray:
    raw = _read_maybe_gzip(path)
    digest = hashlib.sha256(raw).hexdigest()
    if digest != FASHION_MNIST_FILES[stem]:
        raise DatasetError(
            f"{path} fails its checksum (sha256 of content {digest[:16]}…, expected "
            f"{FASHION_MNIST_FILES[stem][:16]}…); delete it and try again."
        )
    return parse_idx(raw, str(path))


def _download(stem: str, folder: Path, base_url: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{stem}.gz"
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=f".{stem}.", suffix=".part")
    try:
        with os.fdopen(handle, "wb") as out, urllib.request.urlopen(base_url + f"{stem}.gz", timeout=60) as response:
            shutil.copyfileobj(response, out)
        _verified(Path(temporary), stem)  # raises on a bad download; nothing is kept
        os.replace(temporary, target)
    except Exception:
        Path(temporary).unlink(missing_ok=True)
        raise
    return target


def load_fashion_mnist(
    path: str | Path | None = None,
    *,
    download: bool = True,
    base_url: str = FASHION_MNIST_URL,
    cache_dir: str | Path | None = None,
) -> Dataset:
    """Fashion-MNIST: 60,000 training and 10,000 test images of 28×28, 10 classes.

    Parameters
    ----------
    path : folder, optional
        Folder holding the four idx files (``.gz`` or not). Searched first.
    download : bool, default=True
        Download missing files into the cache when found nowhere.
    base_url : str
        Where to download from (the official mirror by default).
    cache_dir : folder, optional
        Download target (default ``~/.cache/glassnet/fashion-mnist``).

    Returns
    -------
    Dataset
        ``x``/``x_test`` float32 (n, 784) in [0, 1]; ``y``/``y_test`` int64.
    """
    folders: list[Path] = []
    if path is not None:
        folders.append(Path(path))
    if os.environ.get("GLASSNET_DATA"):
        root = Path(os.environ["GLASSNET_DATA"])
        folders += [root / "fashion-mnist", root]
    folders += list(STANDARD_LOCATIONS)
    if cache_dir is not None:
        folders.insert(len(folders) if path is None else 1, Path(cache_dir))
    download_to = Path(cache_dir) if cache_dir is not None else CACHE_DIR
    arrays = {}
    for stem in FASHION_MNIST_FILES:
        found = _find_file(stem, folders)
        if found is None:
            if not download:
                raise DatasetError(
                    f"Fashion-MNIST file {stem} not found in {[str(f) for f in folders]}; "
                    "pass path=..., set GLASSNET_DATA, or allow download=True."
                )
            found = _download(stem, download_to, base_url)
        arrays[stem] = _verified(found, stem)
    x = arrays["train-images-idx3-ubyte"].reshape(-1, 784).astype(np.float32) / 255.0
    x_test = arrays["t10k-images-idx3-ubyte"].reshape(-1, 784).astype(np.float32) / 255.0
    return Dataset(
        x,
        arrays["train-labels-idx1-ubyte"].astype(np.int64),
        FASHION_MNIST_CLASSES,
        (28, 28),
        x_test,
        arrays["t10k-labels-idx1-ubyte"].astype(np.int64),
        "Fashion-MNIST (Zalando Research, MIT licence)",
    )


def load_mnist_idx(images: str | Path, labels: str | Path) -> Dataset:
    """Any MNIST-format pair of idx files (images (n, h, w), labels (n,)); uint8 pixels scaled to [0, 1]."""
    image_array, label_array = read_idx(images), read_idx(labels)
    if image_array.ndim != 3 or label_array.ndim != 1 or len(image_array) != len(label_array):
        raise DatasetError(
            f"expected images (n, h, w) and labels (n,); got {image_array.shape} and {label_array.shape}."
        )
    n, height, width = image_array.shape
    x = image_array.reshape(n, -1).astype(np.float32)
    if image_array.dtype == np.uint8:
        x /= 255.0
    classes = tuple(str(c) for c in np.unique(label_array))
    return Dataset(x, label_array.astype(np.int64), classes, (height, width))


__all__ = [
    "Dataset",
    "DatasetError",
    "load_digits",
    "load_fashion_mnist",
    "load_mnist_idx",
    "read_idx",
    "parse_idx",
    "FASHION_MNIST_FILES",
    "FASHION_MNIST_CLASSES",
]
