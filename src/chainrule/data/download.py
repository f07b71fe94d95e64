"""Downloading a file safely: streamed, checksummed, and only then moved into place."""

import hashlib
import os
import tempfile

from chainrule.errors import FileFormatError

_CHUNK_BYTES = 1 << 16
_TIMEOUT_SECONDS = 30


def download(url, dest_path, md5, progress=True):
    """Download `url` to `dest_path`, verifying its MD5 checksum.

    The bytes stream into a temporary file beside `dest_path`, which replaces `dest_path` only
    once the checksum matches, so an interrupted or corrupted download never leaves a file that
    looks complete. Shows a tqdm progress bar if `progress` and tqdm is installed.

    Raises ConnectionError naming the URL if the download fails, and FileFormatError naming the
    file and both checksums if the checksum does not match (the partial file is deleted).
    """
    dest_name = os.fspath(dest_path)
    directory = os.path.dirname(os.path.abspath(dest_name))
    os.makedirs(directory, exist_ok=True)
    descriptor, temp_name = tempfile.mkstemp(
        dir=directory, prefix=f".{os.path.basename(dest_name)}.", suffix=".part"
    )
    try:
        with os.fdopen(descriptor, "wb") as file:
            actual_md5 = _stream(url, file, progress, directory)
        if actual_md5 != md5.lower():
            raise FileFormatError(
                f"{dest_name}: checksum mismatch for {url}: expected md5 {md5.lower()}, "
                f"downloaded file has {actual_md5}"
            )
        os.replace(temp_name, dest_name)
    except BaseException:
        os.unlink(temp_name)
        raise


def _stream(url, file, progress, directory):
    """Copy the body of `url` into `file`; return the MD5 hex digest of what was copied."""
    # The network modules load here, on first use: at import they cost about 50 ms of
    # every `import chainrule` and `chainrule --help`.
    import http.client
    import urllib.error
    import urllib.request
    digest = hashlib.md5()
    try:
        with urllib.request.urlopen(url, timeout=_TIMEOUT_SECONDS) as response:
            total = response.headers.get("Content-Length")
            bar = _progress_bar(url, int(total) if total else None, progress)
            try:
                while chunk := response.read(_CHUNK_BYTES):
                    file.write(chunk)
                    digest.update(chunk)
                    if bar is not None:
                        bar.update(len(chunk))
            finally:
                if bar is not None:
                    bar.close()
    except urllib.error.HTTPError as error:
        error.close()  # an HTTPError holds the response's socket open
        message = f"could not download {url}: HTTP {error.code} {error.reason}"
        raise ConnectionError(message) from error
    except urllib.error.URLError as error:
        # Most often no network at all: say so, and how to do without one.
        raise ConnectionError(
            f"could not download {url}: {error.reason} (is this machine offline? Copy the "
            f"files into {directory} by hand, or pass the "
            f"folder that holds them with --data-dir)") from error
    except (TimeoutError, ConnectionError, http.client.HTTPException) as error:
        raise ConnectionError(f"could not download {url}: {error}") from error
    return digest.hexdigest()


def _progress_bar(url, total, progress):
    if not progress:
        return None
    try:
        from tqdm import tqdm
    except ImportError:  # tqdm is optional: without it the download is silent
        return None
    return tqdm(
        total=total, unit="B", unit_scale=True, unit_divisor=1024, desc=url.rsplit("/", 1)[-1]
    )
