"""Atomic writes: a temporary file in the target's directory, synced, then renamed over it."""
import os
import stat
import tempfile

# Files hold host memory whatever the compute backend is, so this module speaks NumPy directly.
import numpy as np

from chainrule.errors import CheckpointError


def atomic_write(path, chunks, what="checkpoint"):
    """Write the byte strings ``chunks`` to ``path`` so that a crash leaves either the old file
    or the new one; errors are CheckpointErrors saying what (``what``) could not be saved."""
    directory = os.path.dirname(os.path.abspath(path))
    _check_directory(path, directory, what)
    outcome = "the previous file is unchanged" if os.path.exists(path) else "no file was written"
    mode = _file_mode(path)
    try:
        descriptor, temp_path = tempfile.mkstemp(
            prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=directory
        )
    except OSError as err:
        raise CheckpointError(f"could not save {what} to {path}: {err}; {outcome}") from err
    try:
        _write_and_sync(descriptor, chunks, mode)
        os.replace(temp_path, path)
    except OSError as err:
        _remove_quietly(temp_path)
        raise CheckpointError(f"could not save {what} to {path}: {err}; {outcome}") from err
    except BaseException:
        _remove_quietly(temp_path)  # an interrupted save must not leave half a file behind
        raise
    _sync_directory(path, directory)


def _check_directory(path, directory, what):
    def refuse(reason):
        raise CheckpointError(f"could not save {what} to {path}: {reason}; no file was written")

    if not os.path.exists(directory):
        refuse(f"directory {directory} does not exist")
    if not os.path.isdir(directory):
        refuse(f"{directory} is not a directory")
    if os.path.isdir(path):
        refuse(f"{path} is a directory")
    if not os.access(directory, os.W_OK | os.X_OK):
        refuse(f"directory {directory} is not writable")


def _file_mode(path):
    # mkstemp creates files readable only by their owner; a checkpoint should get the
    # permissions the previous file had, or those any newly created file would get.
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        return 0o666 & ~_umask()


def _umask():
    # Python can read the umask only by changing it, which races with other threads; Linux
    # reports it instead. Elsewhere keep the new file private, as mkstemp made it.
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    return 0o077


def _write_and_sync(descriptor, chunks, mode):
    try:
        if hasattr(os, "fchmod"):
            os.fchmod(descriptor, mode)
        for chunk in chunks:
            _write_all(descriptor, chunk)
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _write_all(descriptor, chunk):
    if isinstance(chunk, np.ndarray):
        if chunk.size == 0:
            return
        chunk = chunk.reshape(-1).view(np.uint8)
    view = memoryview(chunk)
    while view:
        view = view[os.write(descriptor, view):]  # os.write may write less than asked


def _remove_quietly(temp_path):
    try:
        os.remove(temp_path)
    except FileNotFoundError:
        pass


def _sync_directory(path, directory):
    # The rename is durable only once the directory entry is on disk. Without O_DIRECTORY
    # (Windows) a directory cannot be opened to be synced, and NTFS needs no such step.
    if not hasattr(os, "O_DIRECTORY"):
        return
    try:
        descriptor = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
    except OSError as err:
        raise CheckpointError(
            f"saved {path}, but could not sync its directory {directory}: {err}; the new file "
            f"is in place but might not survive a power failure"
        ) from err
