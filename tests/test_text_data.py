"""Text data: d2l's tokenize, Vocab and sequence iterators checked against d2l's own algorithms
written out here, and the three text data sets against what d2l, nanoGPT and makemore report,
recomputed from the shared copies."""
import collections
import hashlib
import random
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import chainrule as cr
from chainrule import data
from chainrule.errors import FileFormatError

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "datasets"


def shared_copy(name, filename):
    path = SHARED / name / filename
    if not path.is_file():
        pytest.skip(f"the project's shared {name} copy is not at {path}")
    return path


# ------------------------------------------------------------------ d2l's code, as the reference


def d2l_vocab(tokens, min_freq=0, reserved_tokens=()):
    """d2l's Vocab.__init__ (PyTorch edition, chapter 8.2), returning its three tables."""
    if tokens and isinstance(tokens[0], list):
        tokens = [token for line in tokens for token in line]
    token_freqs = sorted(collections.Counter(tokens).items(), key=lambda x: x[1], reverse=True)
    idx_to_token = ["<unk>"] + list(reserved_tokens)
    token_to_idx = {token: idx for idx, token in enumerate(idx_to_token)}
    for token, freq in token_freqs:
        if freq < min_freq:
            break
        if token not in token_to_idx:
            idx_to_token.append(token)
            token_to_idx[token] = len(idx_to_token) - 1
    return idx_to_token, token_to_idx, token_freqs


def d2l_random(corpus, batch_size, num_steps, offset, order):
    """d2l's seq_data_iter_random with its two random draws given: the offset and the
    shuffled order of the subsequences."""
    corpus = corpus[offset:]
    num_subseqs = (len(corpus) - 1) // num_steps
    initial_indices = list(range(0, num_subseqs * num_steps, num_steps))
    initial_indices = [initial_indices[i] for i in order]
    num_batches = num_subseqs // batch_size
    for i in range(0, batch_size * num_batches, batch_size):
        batch = initial_indices[i: i + batch_size]
        yield ([corpus[j: j + num_steps] for j in batch],
               [corpus[j + 1: j + 1 + num_steps] for j in batch])


def d2l_sequential(corpus, batch_size, num_steps, offset):
    num_tokens = ((len(corpus) - offset - 1) // batch_size) * batch_size
    xs = np.array(corpus[offset: offset + num_tokens]).reshape(batch_size, -1)
    ys = np.array(corpus[offset + 1: offset + 1 + num_tokens]).reshape(batch_size, -1)
    for i in range(0, num_steps * (xs.shape[1] // num_steps), num_steps):
        yield xs[:, i: i + num_steps].tolist(), ys[:, i: i + num_steps].tolist()


def d2l_time_machine_lines(path):
    with open(path) as f:
        return [re.sub("[^A-Za-z]+", " ", line).strip().lower() for line in f.readlines()]


# ------------------------------------------------------------------------ tokenize and Vocab


def test_tokenize_splits_words_and_characters_as_d2l():
    lines = ["the time  machine", "", "by h g wells "]
    assert data.tokenize(lines) == [["the", "time", "machine"], [], ["by", "h", "g", "wells"]]
    assert data.tokenize(lines, token="char")[2] == list("by h g wells ")
    with pytest.raises(ValueError, match="unknown token type 'byte'"):
        data.tokenize(lines, token="byte")


@pytest.mark.parametrize("min_freq, reserved", [(0, ()), (2, ("<pad>", "<bos>")), (3, ("b",))])
def test_vocab_is_d2ls(min_freq, reserved):
    # Ties (b, c and <unk> twice; d, e once) keep first-appearance order; 'b' reserved and
    # '<unk>' in the text must not be added twice.
    lines = [["c", "a", "b"], ["a", "<unk>", "d", "a"], ["b", "c", "<unk>", "e"]]
    vocab = data.Vocab(lines, min_freq=min_freq, reserved_tokens=list(reserved))
    idx_to_token, token_to_idx, token_freqs = d2l_vocab(lines, min_freq, reserved)
    assert vocab.idx_to_token == idx_to_token
    assert vocab.token_to_idx == token_to_idx
    assert vocab.token_freqs == token_freqs == [("a", 3), ("c", 2), ("b", 2), ("<unk>", 2),
                                                ("d", 1), ("e", 1)]
    assert len(vocab) == len(idx_to_token) and vocab.unk == 0
    assert vocab["zebra"] == 0 and vocab["a"] == token_to_idx["a"]
    assert vocab[["a", "zebra"]] == vocab[("a", "zebra")] == [token_to_idx["a"], 0]
    assert vocab.to_tokens(1) == idx_to_token[1]
    indices = list(range(len(vocab)))
    assert vocab.to_tokens(indices) == vocab.to_tokens(cr.tensor(indices)) == idx_to_token


def test_vocab_takes_a_flat_list_or_nothing():
    assert data.Vocab(list("abcab")).idx_to_token == ["<unk>", "a", "b", "c"]
    assert data.Vocab().idx_to_token == ["<unk>"] and len(data.Vocab()) == 1


def test_char_vocab_encodes_and_decodes_and_refuses_what_it_lacks():
    vocab = data.CharVocab(sorted(set("hello world")))
    assert vocab.decode(vocab.encode("hello world")) == "hello world"
    assert vocab.itos == dict(enumerate(vocab.chars)) and len(vocab) == 8
    with pytest.raises(ValueError, match="'z' is not among the 8 characters"):
        vocab.encode("hz")
    with pytest.raises(ValueError, match="distinct single characters"):
        data.CharVocab(["a", "a"])
    with pytest.raises(ValueError, match="'q' is not among"):
        vocab._encode_array("hq")
    unsorted = data.CharVocab("cab")
    assert unsorted._encode_array("abcab").tolist() == unsorted.encode("abcab") == [1, 2, 0, 1, 2]


# --------------------------------------------------------------------------- the iterators


@pytest.mark.parametrize("length, batch_size, num_steps", [(100, 2, 5), (37, 3, 4), (64, 1, 7)])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_random_sampling_is_d2ls_given_the_same_draws(length, batch_size, num_steps, seed):
    corpus = [int(v) for v in np.random.default_rng(99).integers(0, 30, length)]
    draws = np.random.default_rng(seed)
    offset = int(draws.integers(0, num_steps))
    order = draws.permutation((len(corpus) - offset - 1) // num_steps)
    expected = list(d2l_random(corpus, batch_size, num_steps, offset, order))
    got = list(data.seq_data_iter_random(corpus, batch_size, num_steps,
                                         generator=np.random.default_rng(seed)))
    assert len(got) == len(expected) > 0
    for (X, Y), (x, y) in zip(got, expected):
        assert isinstance(X, cr.Tensor) and X.dtype == cr.int64 and Y.dtype == cr.int64
        assert X.tolist() == x and Y.tolist() == y


@pytest.mark.parametrize("length, batch_size, num_steps", [(100, 2, 5), (37, 3, 4), (64, 1, 7)])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_sequential_partitioning_is_d2ls_given_the_same_offset(length, batch_size, num_steps,
                                                              seed):
    corpus = [int(v) for v in np.random.default_rng(98).integers(0, 30, length)]
    offset = int(np.random.default_rng(seed).integers(0, num_steps + 1))
    expected = list(d2l_sequential(corpus, batch_size, num_steps, offset))
    got = list(data.seq_data_iter_sequential(cr.tensor(corpus), batch_size, num_steps,
                                             generator=np.random.default_rng(seed)))
    assert [(X.tolist(), Y.tolist()) for X, Y in got] == expected and expected


def test_a_chainrule_generator_draws_what_its_numpy_stream_draws():
    corpus = list(range(50))
    a = [X.tolist() for X, _ in data.seq_data_iter_random(
        corpus, 2, 3, generator=cr.Generator().manual_seed(5))]
    b = [X.tolist() for X, _ in data.seq_data_iter_random(
        corpus, 2, 3, generator=np.random.default_rng(5))]
    assert a == b
    cr.manual_seed(3)
    c = [X.tolist() for X, _ in data.seq_data_iter_sequential(corpus, 2, 3)]
    cr.manual_seed(3)
    assert c == [X.tolist() for X, _ in data.seq_data_iter_sequential(corpus, 2, 3)]


def test_each_batch_is_shaped_and_y_is_x_shifted_by_one():
    corpus = np.arange(1000)  # a token's value is its position, so shifts are visible
    for iterate in (data.seq_data_iter_random, data.seq_data_iter_sequential):
        for X, Y in iterate(corpus, 4, 6, generator=cr.Generator().manual_seed(0)):
            assert tuple(X.shape) == tuple(Y.shape) == (4, 6)
            np.testing.assert_array_equal(Y.numpy(), X.numpy() + 1)


def test_sequential_batches_continue_each_other_row_by_row():
    corpus = np.arange(500)
    for seed in range(5):
        batches = [X.numpy() for X, _ in data.seq_data_iter_sequential(
            corpus, 3, 7, generator=np.random.default_rng(seed))]
        assert len(batches) > 2
        rows = np.concatenate(batches, axis=1)
        np.testing.assert_array_equal(np.diff(rows, axis=1), 1)  # each row is one stretch
        assert (np.diff(rows[:, 0]) > 0).all()


def test_random_batches_cover_non_overlapping_subsequences_from_one_offset():
    corpus = np.arange(203)
    num_steps, offsets = 5, set()
    for seed in range(40):
        starts = np.concatenate([X.numpy()[:, 0] for X, _ in data.seq_data_iter_random(
            corpus, 4, num_steps, generator=np.random.default_rng(seed))])
        offset = int(starts[0] % num_steps)
        offsets.add(offset)
        assert ((starts - offset) % num_steps == 0).all()  # aligned, so never overlapping
        assert len(set(starts.tolist())) == len(starts)
        num_subseqs = (len(corpus) - offset - 1) // num_steps
        assert len(starts) == (num_subseqs // 4) * 4
    assert offsets == set(range(num_steps))


def test_the_offsets_reach_d2ls_full_range():
    seen = set()
    for seed in range(60):
        X, _ = next(data.seq_data_iter_sequential(np.arange(100), 2, 3,
                                                  generator=np.random.default_rng(seed)))
        seen.add(int(X[0, 0]))
    assert seen == {0, 1, 2, 3}


def test_iterators_refuse_bad_arguments_and_a_short_corpus_gives_nothing():
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        next(data.seq_data_iter_random([1, 2, 3], 0, 2))
    with pytest.raises(ValueError, match="1-D sequence of token indices"):
        next(data.seq_data_iter_sequential([[1, 2], [3, 4]], 1, 1))
    for seed in range(10):  # offsets past the end of the corpus too
        g = np.random.default_rng(seed)
        assert list(data.seq_data_iter_sequential([1, 2, 3], 2, 5, generator=g)) == []
        assert list(data.seq_data_iter_random([1, 2, 3], 2, 5, generator=g)) == []
        assert list(data.seq_data_iter_random([], 1, 1, generator=g)) == []


def test_seq_data_loader_draws_afresh_each_epoch_and_repeats_with_its_seed():
    def epochs(use_random_iter):
        loader = data.SeqDataLoader(np.arange(300), 4, 5, use_random_iter,
                                    generator=cr.Generator().manual_seed(7))
        return [[X.tolist() for X, _ in loader] for _ in range(3)]

    for use_random_iter in (False, True):
        first = epochs(use_random_iter)
        assert first == epochs(use_random_iter)
        assert first[0] != first[1] or first[1] != first[2]


def test_seq_data_loader_refuses_a_corpus_too_short_for_one_batch():
    for use_random_iter, needed in ((True, 2 * 5 + 5), (False, 2 * 5 + 5 + 1)):
        data.SeqDataLoader(list(range(needed)), 2, 5, use_random_iter)
        with pytest.raises(ValueError, match=f"needs at least {needed} tokens"):
            data.SeqDataLoader(list(range(needed - 1)), 2, 5, use_random_iter)
        # At the minimum length every offset still yields a batch.
        for seed in range(30):
            loader = data.SeqDataLoader(list(range(needed)), 2, 5, use_random_iter,
                                        generator=np.random.default_rng(seed))
            assert len(list(loader)) == 1
    with pytest.raises(TypeError, match="generator"):
        data.SeqDataLoader(list(range(100)), 2, 5, generator=3)


# ------------------------------------------------------------------------------- the data sets


def test_the_shipped_time_machine_loads_with_no_data_dir():
    corpus, vocab = data.timemachine()
    assert (len(corpus), len(vocab), corpus.dtype) == (170580, 28, cr.int64)
    assert vocab.idx_to_token[:5] == ["<unk>", " ", "e", "t", "a"]
    assert "".join(vocab.to_tokens(corpus[:17])) == "the time machine "
    corpus, _ = data.timemachine(max_tokens=10000)
    assert len(corpus) == 10000
    loader, vocab = data.load_data_time_machine(32, 35, generator=cr.Generator().manual_seed(0))
    assert [tuple(X.shape) for X, _ in loader] == [(32, 35)] * 8 and len(vocab) == 28


def test_the_shipped_time_machine_is_the_shared_copy_and_in_package_data():
    shipped = ROOT / "src" / "chainrule" / "data" / "files" / "timemachine.txt"
    copy = shared_copy("timemachine", "timemachine.txt")
    readme = SHARED / "timemachine" / "README.md"
    sha256 = re.search(r"sha256: ([0-9a-f]{64})", readme.read_text()).group(1)
    assert hashlib.sha256(shipped.read_bytes()).hexdigest() == sha256
    assert shipped.read_bytes() == copy.read_bytes()
    assert '"data/files/*.txt"' in (ROOT / "pyproject.toml").read_text()


def test_time_machine_statistics_are_d2ls():
    path = shared_copy("timemachine", "timemachine.txt")
    lines = d2l_time_machine_lines(path)
    chars = [ch for line in lines for ch in line]
    assert (len(chars), len(set(chars)) + 1) == (170580, 28)  # d2l's 8.2: the '<unk>' is extra
    corpus, vocab = data.timemachine(data_dir=path.parent)
    assert vocab.to_tokens(corpus.tolist()) == chars
    words = [w for line in lines for w in line.split()]
    corpus, vocab = data.timemachine(token="word", data_dir=path.parent)
    assert len(vocab) == len(set(words)) + 1 == 4580 and len(corpus) == len(words)
    assert vocab.token_freqs[:3] == [("the", 2261), ("i", 1267), ("and", 1245)]


def test_shakespeare_char_is_nanogpts():
    path = shared_copy("tinyshakespeare", "input.txt")
    text = path.read_text()
    train, val, vocab = data.shakespeare_char(data_dir=path.parent)
    chars = sorted(set(text))
    assert len(vocab) == len(chars) == 65 and vocab.chars == chars
    n = int(len(text) * 0.9)
    assert (len(train), len(val)) == (n, len(text) - n) == (1003854, 111540)
    assert train.dtype == val.dtype == cr.int64
    stoi = {ch: i for i, ch in enumerate(chars)}
    np.testing.assert_array_equal(train.numpy(), [stoi[c] for c in text[:n]])
    assert vocab.decode(val) == text[n:]


def makemore_build_dataset(words, stoi, block_size):
    X, Y = [], []
    for w in words:
        context = [0] * block_size
        for ch in w + ".":
            ix = stoi[ch]
            X.append(context)
            Y.append(ix)
            context = context[1:] + [ix]
    return np.array(X, dtype=np.int64).reshape(-1, block_size), np.array(Y, dtype=np.int64)


def test_names_are_makemores_build_dataset():
    path = shared_copy("makemore", "names.txt")
    words = open(path).read().splitlines()
    chars = sorted(list(set("".join(words))))
    stoi = {s: i + 1 for i, s in enumerate(chars)}
    stoi["."] = 0
    random.seed(42)
    random.shuffle(words)
    n1, n2 = int(0.8 * len(words)), int(0.9 * len(words))
    names = data.names(data_dir=path.parent)
    assert len(names.words) == 32033 and len(names.vocab) == 27
    assert names.vocab.stoi == stoi and names.words == open(path).read().splitlines()
    for split, part in zip(names[:3], (words[:n1], words[n1:n2], words[n2:])):
        X, Y = makemore_build_dataset(part, stoi, 3)
        np.testing.assert_array_equal(split.tensors[0].numpy(), X)
        np.testing.assert_array_equal(split.tensors[1].numpy(), Y)
    assert [len(s) for s in names[:3]] == [182625, 22655, 22866]  # the lecture's sizes
    five = data.names(block_size=5, seed=1, data_dir=path.parent)
    random.Random(1).shuffle(shuffled := open(path).read().splitlines())
    X, Y = makemore_build_dataset(shuffled[int(0.9 * len(words)):], stoi, 5)
    np.testing.assert_array_equal(five.test.tensors[0].numpy(), X)
    with pytest.raises(ValueError, match="block_size"):
        data.names(block_size=0, data_dir=path.parent)


# ---------------------------------------------------------------- files, checksums, downloads


def test_a_damaged_file_fails_its_checksum_with_a_clear_error(tmp_path):
    book = data.text_datasets.SHIPPED_TIMEMACHINE.read_bytes()
    (tmp_path / "timemachine.txt").write_bytes(book[:1000] + b"X" + book[1001:])
    with pytest.raises(FileFormatError, match=r"timemachine.txt: checksum mismatch: expected md5 "
                                              r"7353d136ab308ecd0d4f1c5bf0e23122.*download=True"):
        data.timemachine(data_dir=tmp_path)
    (tmp_path / "names.txt").write_text("emma\nolivia\n")
    with pytest.raises(FileFormatError, match="names.txt: checksum mismatch"):
        data.names(data_dir=tmp_path)


def test_download_fetches_checks_and_caches(tmp_path, monkeypatch):
    source = shared_copy("tinyshakespeare", "input.txt")
    monkeypatch.setenv("CHAINRULE_DATA", str(tmp_path / "cache"))
    with pytest.raises(FileNotFoundError, match="download=True"):
        data.shakespeare_char()
    train, val, vocab = data.shakespeare_char(download=True, base_url=source.parent.as_uri())
    cached = tmp_path / "cache" / "tinyshakespeare" / "input.txt"
    assert cached.read_bytes() == source.read_bytes() and len(vocab) == 65
    assert len(data.shakespeare_char()[0]) == len(train)  # read from the cache now


def test_a_corrupted_download_is_refused_and_not_kept(tmp_path):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / "names.txt").write_text("emma\nolivia\n")
    with pytest.raises(FileFormatError, match="checksum mismatch.*expected md5 "
                                              "401b3c4cac9e28a586ed15e81256680d"):
        data.names(data_dir=tmp_path / "names", download=True, base_url=mirror.as_uri())
    assert not (tmp_path / "names" / "names.txt").exists()


# ------------------------------------------------------------------------- docs and imports


@pytest.mark.parametrize("module", ["text", "text_datasets"])
def test_the_text_modules_examples_run(module, monkeypatch):
    import doctest
    import importlib

    if module == "text_datasets":
        shared_copy("tinyshakespeare", "input.txt")
        shared_copy("makemore", "names.txt")
    monkeypatch.chdir(ROOT)  # the examples name the shared copies as ../shared/datasets/...
    found = importlib.import_module(f"chainrule.data.{module}")
    result = doctest.testmod(found, extraglobs={"cr": cr, "np": np, "data": data},
                             optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted and result.failed == 0


def test_every_text_name_documents_itself_with_an_example():
    import inspect
    names = ["tokenize", "Vocab", "CharVocab", "seq_data_iter_random", "seq_data_iter_sequential",
             "SeqDataLoader", "timemachine", "load_data_time_machine", "shakespeare_char", "names"]
    for name in names:
        assert name in data.__all__
        assert ">>>" in inspect.getdoc(getattr(data, name)), name


def test_import_chainrule_loads_no_text_module():
    code = ("import sys, chainrule; "
            "print(any(m.startswith('chainrule.data') for m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "False", result.stderr
