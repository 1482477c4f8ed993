"""One writer at a time for a data directory: a lock file that names its holder.

Chroma's embedded `PersistentClient` allows one writing process, and the ingest records,
the document texts and the lexical index beside it are written in several steps; two
writers at once have corrupted stores in the field. Every write (ingest, remove, the
scheme catalogue) takes this lock. It is an OS lock (`flock`, through `filelock`), so a
process that dies, even by SIGKILL, releases it; beside it a small JSON file says who holds
it, so that the next writer's error can name the holder.

Within one process there is one lock per data directory, however many `KnowledgeBase`
objects open it; it is re-entrant, and threads (the UI's upload and remove handlers run in
worker threads) queue behind each other: the OS lock is taken on the outermost acquire only.

Network file systems do not always honour `flock`: keep the data directory on a local disk
(README, "A knowledge base for a team": the processes sharing one run on one machine).
"""

from __future__ import annotations

import json
import os
import socket
import sys
import threading
import time
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from knowledge.errors import StoreLockedError

__all__ = ["WriteLock", "WAIT_S"]

WAIT_S = 3.0  # how long a writer waits for another one before it gives up with StoreLockedError


def _command() -> str:
    argv = [Path(sys.argv[0]).name, *sys.argv[1:]] if sys.argv and sys.argv[0] else ["python"]
    text = " ".join(argv)
    return text if len(text) <= 120 else text[:117] + "..."


class WriteLock:
    """`with lock:` writes to the data directory, or raises `StoreLockedError` naming the holder.

    >>> lock = WriteLock(settings.data_dir / "write.lock")   # cheap: nothing is opened
    >>> with lock:
    ...     ingest()
    """

    _instances: dict[str, WriteLock] = {}
    _instances_lock = threading.Lock()

    def __new__(cls, path: Path, wait_s: float = WAIT_S) -> WriteLock:
        key = os.path.abspath(path)
        with cls._instances_lock:
            if key not in cls._instances:
                instance = super().__new__(cls)
                instance._setup(Path(key), wait_s)
                cls._instances[key] = instance
            return cls._instances[key]

    def _setup(self, path: Path, wait_s: float) -> None:
        self.path = path
        self.holder_path = self.path.with_name(self.path.name + ".holder")
        self.wait_s = wait_s
        self._threads = threading.RLock()
        self._depth = 0
        self._file_lock: FileLock | None = None

    def holder(self) -> dict[str, Any] | None:
        """Who holds (or last held) the lock, as its holder file says; None when unknown."""
        try:
            data = json.loads(self.holder_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def _describe_holder(self) -> str:
        info = self.holder()
        if not info:
            return "another process"
        since = info.get("since")
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(since)) if isinstance(since, (int, float)) else "?"
        return f"process {info.get('pid', '?')} on {info.get('host', '?')} (`{info.get('command', '?')}`, since {when})"

    def acquire(self, wait_s: float | None = None) -> None:
        wait = self.wait_s if wait_s is None else wait_s
        # Threads of one process queue behind each other (an upload waits for the ingest before it).
        if not self._threads.acquire(blocking=wait != 0):
            raise StoreLockedError(f"another thread of this process is writing {self.path.parent}; try again later")
        if self._depth == 0:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                lock = FileLock(self.path, thread_local=False)
                lock.acquire(timeout=wait)
            except Timeout:
                self._threads.release()
                raise StoreLockedError(
                    f"the data directory {self.path.parent} is being written by {self._describe_holder()}; "
                    "tia allows one writer at a time: wait for it to finish, or stop it, then try again "
                    f"(lock file: {self.path})"
                ) from None
            except OSError as exc:
                self._threads.release()
                raise StoreLockedError(f"cannot take the write lock {self.path}: {exc}") from exc
            self._file_lock = lock
            self._write_holder()
        self._depth += 1

    def _write_holder(self) -> None:
        info = {"pid": os.getpid(), "host": socket.gethostname(), "command": _command(), "since": time.time()}
        tmp = self.holder_path.with_name(f".{self.holder_path.name}.{os.getpid()}")
        try:
            tmp.write_text(json.dumps(info), encoding="utf-8")
            os.replace(tmp, self.holder_path)
        except OSError:  # the holder's name is a courtesy; the lock itself is what protects the store
            tmp.unlink(missing_ok=True)

    def release(self) -> None:
        self._depth -= 1
        if self._depth == 0 and self._file_lock is not None:
            self.holder_path.unlink(missing_ok=True)
            self._file_lock.release()
            self._file_lock = None
        self._threads.release()

    def try_acquire(self) -> bool:
        """Take the lock if nobody else holds it; False (and nothing held) otherwise."""
        try:
            self.acquire(wait_s=0)
        except StoreLockedError:
            return False
        return True

    def __enter__(self) -> WriteLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
