"""Image folders in: one sub-folder per class of image files (PNG, JPEG, BMP, GIF, WebP, TIFF), read with Pillow."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .tabular import DataError

#: The image files read (by suffix, any case): the formats every Pillow wheel reads.
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"}
#: Unreadable files named, at most, in what training says.
NAMED_FILES = 3


def parse_size(text: str | None) -> tuple[int, int] | None:
    """``"28x28"`` → (28, 28) as (width, height)."""
    if text is None:
        return None
    try:
        width, height = (int(part) for part in text.lower().split("x"))
        if width <= 0 or height <= 0:
            raise ValueError
    except ValueError:
        raise DataError(f"--image-size must look like 28x28 (width x height); got {text!r}.") from None
    return width, height


def open_image(path: Path):
    """The decoded image at ``path`` (a Pillow Image); a DataError names a file Pillow cannot read."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            image.load()
            return image.copy()
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise DataError(f"cannot read image {path}: {exc}") from None


def image_pixels(image, mode: str, size: tuple[int, int]) -> np.ndarray:
    """One image as flat float32 pixels in [0, 1]: converted to ``mode``, resized (bilinear) to
    ``size`` (width, height) when it differs. Training and prediction both go through here."""
    from PIL import Image

    converted = image.convert(mode)
    if converted.size != size:
        converted = converted.resize(size, Image.Resampling.BILINEAR)
    return np.asarray(converted, dtype=np.float32).reshape(-1) / 255.0


def load_image_folder(
    folder: str | Path, size: tuple[int, int] | None = None, mode: str | None = None, skip_unreadable: bool = False
) -> tuple[np.ndarray, np.ndarray, dict]:
    """Read ``folder/<class>/*`` image files (:data:`IMAGE_SUFFIXES`) into pixels in [0, 1].

    Parameters
    ----------
    size : (width, height), optional
        Resize every image to this size. Without it every image must have the same size.
    mode : "L" (grayscale), "RGB" or None
        None keeps grayscale when every image is grayscale, RGB otherwise.
    skip_unreadable : bool
        Leave out the image files Pillow cannot read (training: one damaged file in thousands
        stopped the run), each named in ``info["unreadable"]``; False: the first is an error
        (prediction: every file gets its prediction or the run stops).

    Returns
    -------
    x : float32 (n, height·width·channels), labels : object array (n,) of class names,
    info : dict with ``image_shape``, ``mode``, ``classes``, ``files`` (how many read), ``paths``
    (each image's path inside ``folder``, in the rows' order), ``unreadable`` (path inside
    ``folder`` → why) and ``other_files`` (how many files in the class folders are not images).
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"no such folder: {folder}")
    classes = sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    listed = [(c, p) for c in classes for p in sorted((folder / c).iterdir()) if not p.name.startswith(".")]
    files = [(c, p) for c, p in listed if p.suffix.lower() in IMAGE_SUFFIXES]
    if not files:
        raise DataError(
            f"{folder} holds no images: expected one sub-folder per class with image files "
            f"({', '.join(sorted(IMAGE_SUFFIXES))}), e.g. folder/cat/1.png, folder/dog/2.jpg."
        )
    images, unreadable = _open_all(files, skip_unreadable)
    if not images:
        raise DataError(f"none of the {len(files)} image files in {folder} can be read, e.g. {next(iter(unreadable))}.")
    files = [(label, path) for label, path, _ in images]
    if mode is None:
        grayscale = ("L", "1", "LA", "I", "I;16")
        mode = "L" if all(image.mode in grayscale for _, _, image in images) else "RGB"
    if size is None:
        sizes = {image.size for _, _, image in images}
        if len(sizes) > 1:
            (_, first_path, first), (_, other_path, other) = (
                images[0],
                next(item for item in images if item[2].size != images[0][2].size),
            )
            raise DataError(
                f"images have different sizes ({first.size[0]}x{first.size[1]} in {first_path}, "
                f"{other.size[0]}x{other.size[1]} in {other_path}); pass --image-size WxH to resize "
                "them all."
            )
        size = images[0][2].size
    pixels = [image_pixels(image, mode, size) for _, _, image in images]
    labels = np.array([label for label, _, _ in images], dtype=object)
    channels = 1 if mode == "L" else 3
    info = {
        "image_shape": [size[1], size[0]] + ([] if channels == 1 else [3]),
        "mode": mode,
        "classes": classes,
        "files": len(files),
        "paths": [path.relative_to(folder).as_posix() for _, path in files],
        "unreadable": {path.relative_to(folder).as_posix(): why for path, why in unreadable.items()},
        "other_files": len(listed) - len(files) - len(unreadable),
    }
    return np.stack(pixels), labels, info


def _open_all(files: list, skip_unreadable: bool) -> tuple[list, dict]:
    """``(label, path, image)`` of each readable file, and the unreadable ones (path → why; an error
    at the first unless ``skip_unreadable``)."""
    images, unreadable = [], {}
    for label, path in files:
        try:
            images.append((label, path, open_image(path)))
        except DataError as error:
            if not skip_unreadable:
                raise
            unreadable[path] = str(error).split(": ", 1)[-1]
    return images, unreadable
