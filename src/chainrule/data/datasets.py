"""Datasets: scikit-learn's 8x8 digits, MNIST and Fashion-MNIST, each as a (train, test) pair."""

import importlib.util
import os
from pathlib import Path

import numpy as np

from chainrule.data.dataset import Dataset
from chainrule.data.download import download as download_file
from chainrule.data.idx import load_idx_pair
from chainrule.dtypes import default_float
from chainrule.errors import FileFormatError

MNIST_MIRRORS = ("https://ossci-datasets.s3.amazonaws.com/mnist/",)
FASHION_MNIST_MIRRORS = ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",)

MNIST_MD5S = {
    "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
}
FASHION_MNIST_MD5S = {
    "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
    "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
    "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
    "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
}

DIGIT_CLASSES = tuple(str(digit) for digit in range(10))
FASHION_MNIST_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)  # fmt: skip

TRAIN_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte")
TEST_FILES = ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
# The project's fixed split of the official 10,000-image test set, used when only it is present.
T10K_TRAIN_SIZE = 8000


class LabeledDataset(Dataset):
    """Examples `x` (in the default float dtype, float32 unless `cr.set_default_dtype` changed
    it, as torchvision's ToTensor; one row per example) with class labels `y` (int64): a
    map-style Dataset whose item `i` is `(x[i], y[i])`, so a DataLoader batches it into Tensors.

    `classes` names the labels 0..len(classes)-1; `note` says anything a user should know
    about where the data came from (empty if nothing).
    """

    def __init__(self, x, y, name, classes, note=""):
        self.x = np.asarray(x, dtype=default_float())
        self.y = np.asarray(y, dtype=np.int64)
        if len(self.x) != len(self.y):
            raise ValueError(f"{name}: {len(self.x)} examples but {len(self.y)} labels")
        self.name = name
        self.classes = tuple(classes)
        self.note = note

    def __len__(self):
        return len(self.y)

    def __getitem__(self, index):
        return self.x[index], self.y[index]

    def __repr__(self):
        return f"LabeledDataset({self.name!r}, x={self.x.shape}, {len(self.classes)} classes)"


def default_data_dir(name):
    """Where a dataset's files are kept by default: $CHAINRULE_DATA/<name>, else
    ~/.cache/chainrule/<name>."""
    root = os.environ.get("CHAINRULE_DATA")
    base = Path(root) if root else Path.home() / ".cache" / "chainrule"
    return base / name


def digits(seed=0, test_fraction=0.2):
    """The 1,797 8x8 handwritten digits that ship with scikit-learn, as (train, test).

    Pixels are scaled from 0..16 to [0, 1] and flattened to 64 features. The split is
    stratified: each class puts round(test_fraction * its count) of its examples, chosen by a
    permutation seeded with `seed`, into the test set. Both sets keep the file's order. The data
    file is read directly from the installed scikit-learn package, which is much faster than
    importing scikit-learn.
    """
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must lie strictly between 0 and 1; got {test_fraction}")
    pixels, labels = _read_digits()
    real = default_float().type
    x = pixels.astype(real) / real(16)
    test_mask = _stratified_test_mask(labels, test_fraction, seed)
    train = LabeledDataset(x[~test_mask], labels[~test_mask], "digits", DIGIT_CLASSES)
    test = LabeledDataset(x[test_mask], labels[test_mask], "digits", DIGIT_CLASSES)
    return train, test


def _stratified_test_mask(labels, test_fraction, seed):
    rng = np.random.default_rng(seed)
    test_mask = np.zeros(len(labels), dtype=bool)
    for label in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == label))
        test_mask[members[: round(test_fraction * len(members))]] = True
    return test_mask


def _read_digits():
    spec = importlib.util.find_spec("sklearn")
    if spec is None:
        raise ImportError(
            "digits() reads the 8x8 digits that ship with scikit-learn, which is not installed: "
            'pip install "chainrule[train]" (or pip install scikit-learn)'
        )
    for location in spec.submodule_search_locations or ():
        path = Path(location) / "datasets" / "data" / "digits.csv.gz"
        if path.is_file():
            return _read_digits_csv(path)
    # The file has moved in this scikit-learn version: take the slow but supported route.
    from sklearn.datasets import load_digits

    bunch = load_digits()
    return bunch.data, bunch.target.astype(np.int64)


def _read_digits_csv(path):
    try:
        table = np.loadtxt(path, delimiter=",", dtype=np.float64, ndmin=2)
    except ValueError as error:
        raise FileFormatError(f"{path}: not a table of numbers ({error})") from error
    if table.shape[1] != 65:
        raise FileFormatError(
            f"{path}: expected 65 columns (64 pixels and a label); found {table.shape[1]}"
        )
    pixels, labels = table[:, :64], table[:, 64]
    if pixels.min() < 0 or pixels.max() > 16:
        raise FileFormatError(
            f"{path}: pixels must lie in 0..16; found {pixels.min()}..{pixels.max()}"
        )
    if not np.isin(labels, np.arange(10)).all():
        raise FileFormatError(f"{path}: labels must be the integers 0..9")
    return pixels, labels.astype(np.int64)


def mnist(data_dir=None, download=False, base_url=None, md5s=None):
    """MNIST handwritten digits as (train, test), pixels in [0, 1], x shaped (N, 784).

    Reads train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte and
    t10k-labels-idx1-ubyte (each with or without .gz) from `data_dir` (default:
    default_data_dir("mnist")). If only the two t10k files are present, returns the project's
    fixed split of those 10,000 official test images: the first 8,000 as train, the last 2,000 as
    test, with a name and `.note` that say so. With `download`, fetches the missing files from
    `base_url` (default: MNIST_MIRRORS in turn) and checks them against `md5s` (default:
    MNIST_MD5S, keyed by file name).
    """
    return _load_idx_dataset(
        "mnist", DIGIT_CLASSES, data_dir, download, base_url, md5s, MNIST_MIRRORS, MNIST_MD5S
    )


def fashion_mnist(data_dir=None, download=False, base_url=None, md5s=None):
    """Fashion-MNIST (Zalando's 28x28 clothing images) as (train, test); see mnist() for the
    files, the t10k-only split and the download arguments."""
    return _load_idx_dataset(
        "fashion-mnist",
        FASHION_MNIST_CLASSES,
        data_dir,
        download,
        base_url,
        md5s,
        FASHION_MNIST_MIRRORS,
        FASHION_MNIST_MD5S,
    )


def _load_idx_dataset(name, classes, data_dir, download, base_url, md5s, mirrors, default_md5s):
    directory = Path(data_dir) if data_dir is not None else default_data_dir(name)
    found = {stem: _find(directory, stem) for stem in TRAIN_FILES + TEST_FILES}
    missing = [stem for stem, path in found.items() if path is None]
    if missing and download:
        base_urls = (base_url,) if base_url is not None else mirrors
        md5s = default_md5s if md5s is None else md5s
        for stem in missing:
            found[stem] = _download_from_mirrors(stem + ".gz", directory, base_urls, md5s)
        missing = []

    if not missing:
        train_x, train_y = _read_images_and_labels(*(found[stem] for stem in TRAIN_FILES), classes)
        test_x, test_y = _read_images_and_labels(*(found[stem] for stem in TEST_FILES), classes)
        return (LabeledDataset(train_x, train_y, name, classes),
                LabeledDataset(test_x, test_y, name, classes))

    if set(missing) == set(TRAIN_FILES):
        return _t10k_split(name, classes, directory, *(found[stem] for stem in TEST_FILES))

    wanted = ", ".join(f"{stem}[.gz]" for stem in missing)
    raise FileNotFoundError(
        f"{name}: {directory} lacks {wanted}. Pass download=True (--download on the command "
        f"line) to fetch the files from "
        f"{base_url if base_url is not None else mirrors[0]}, or point data_dir (--data-dir) "
        f"at a folder that holds them."
    )


def _find(directory, stem):
    for candidate in (directory / f"{stem}.gz", directory / stem):
        if candidate.is_file():
            return candidate
    return None


def _download_from_mirrors(filename, directory, base_urls, md5s):
    if filename not in md5s:
        raise ValueError(f"md5s has no checksum for {filename}; it has {sorted(md5s)}")
    failures = []
    for base_url in base_urls:
        url = base_url.rstrip("/") + "/" + filename
        try:
            download_file(url, directory / filename, md5s[filename])
            return directory / filename
        except ConnectionError as error:
            failures.append(str(error))
    if len(failures) == 1:
        raise ConnectionError(failures[0])
    raise ConnectionError(f"every mirror failed for {filename}: " + "; ".join(failures))


def _read_images_and_labels(images_path, labels_path, classes):
    images, labels = load_idx_pair(images_path, labels_path, num_classes=len(classes))
    if images.dtype != np.uint8 or images.ndim != 3 or images.shape[1:] != (28, 28):
        raise FileFormatError(
            f"{images_path}: expected N x 28 x 28 uint8 images; found shape {images.shape} "
            f"of {images.dtype}"
        )
    real = default_float().type
    x = images.reshape(len(images), -1).astype(real)
    x /= real(255)
    return x, labels.astype(np.int64)


def _t10k_split(name, classes, directory, images_path, labels_path):
    x, y = _read_images_and_labels(images_path, labels_path, classes)
    if len(x) <= T10K_TRAIN_SIZE:
        raise FileFormatError(
            f"{images_path}: the t10k split takes the first {T10K_TRAIN_SIZE} images for "
            f"training, but the file holds only {len(x)}"
        )
    split_name = f"{name} (t10k split {T10K_TRAIN_SIZE}/{len(x) - T10K_TRAIN_SIZE})"
    note = (
        f"Only the official {len(x)}-image test set (t10k) was found in {directory}, so train is "
        f"its first {T10K_TRAIN_SIZE} images and test its last {len(x) - T10K_TRAIN_SIZE}. "
        f"Accuracies are not comparable with the official 60,000/10,000 split."
    )
    train = LabeledDataset(x[:T10K_TRAIN_SIZE], y[:T10K_TRAIN_SIZE], split_name, classes, note)
    test = LabeledDataset(x[T10K_TRAIN_SIZE:], y[T10K_TRAIN_SIZE:], split_name, classes, note)
    return train, test
