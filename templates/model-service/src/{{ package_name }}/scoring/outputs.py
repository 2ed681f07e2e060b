"""The output: the prediction columns the task gives, the schemas, and the Parquet writers (a
thread, one chunk queued at most), the count of written rows and the atomic publish."""

from __future__ import annotations

import queue
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from ..model import CONTRACT
from .config import REASON, ROW, VERSION, WriteError


def output_names() -> tuple[str, ...]:
    return tuple(f.name for f in CONTRACT.task.output_fields())


def prediction_columns(output: np.ndarray) -> dict[str, pa.Array]:
    """The predictions as the service's response fields (class probabilities in TASK order)."""
    return CONTRACT.task.columns(output)


def output_schema(keys: pa.Schema) -> pa.Schema:
    fields = [*keys, *CONTRACT.task.output_fields()]
    return pa.schema([*fields, pa.field(VERSION, pa.string())])


def rejects_schema(keys: pa.Schema) -> pa.Schema:
    return pa.schema([*keys, pa.field(ROW, pa.string()), pa.field(REASON, pa.string())])


class _Held:
    """SIGTERM's exit, held while the main thread is inside the write queue. Raised there (between
    waking the writer and recording that it did, say), it leaves the queue's condition believing
    the writer was woken: the writer then sleeps through the end of the run, and the run waits for
    it forever."""

    depth = 0
    exit_code: int | None = None


@contextmanager
def _exit_held() -> Iterator[None]:
    _Held.depth += 1
    try:
        yield
    finally:
        _Held.depth -= 1
        if _Held.depth == 0 and _Held.exit_code is not None:
            code, _Held.exit_code = _Held.exit_code, None
            raise SystemExit(code)


def exit_now_or_held(code: int) -> None:
    """Exit with code now, or as soon as the main thread leaves the write queue (SIGTERM)."""
    if _Held.depth:
        _Held.exit_code = code
        return
    raise SystemExit(code)


class ParquetWriters:
    """Writes (folder name, table) items on a thread, so Parquet is written while the next chunk
    is predicted. The queue holds at most `depth` chunks, so memory stays flat: a slow disk slows
    the job down instead of filling memory. An error on the thread fails the run: the next `put`
    or `close` raises it."""

    def __init__(self, staging: Path, depth: int = 1) -> None:
        self.staging = staging
        self.items: queue.Queue[tuple[str, pa.Table] | None] = queue.Queue(maxsize=depth)
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._write, name="score-writer", daemon=True)
        self.thread.start()

    def _write(self) -> None:
        writers: dict[str, pq.ParquetWriter] = {}
        try:
            while (item := self.items.get()) is not None:
                name, table = item
                if name not in writers:
                    path = self.staging / name / "part-00000.parquet"
                    writers[name] = pq.ParquetWriter(path, table.schema)
                writers[name].write_table(table)
        except BaseException as error:  # handed to the main thread, which fails the run
            self.error = error
        finally:
            for writer in writers.values():
                try:
                    writer.close()
                except Exception as error:
                    self.error = self.error or error

    def _raise(self) -> None:
        if self.error is not None:
            raise WriteError(f"writing the output failed: {self.error}") from self.error

    def put(self, name: str, table: pa.Table) -> None:
        while True:
            self._raise()
            if not self.thread.is_alive():
                raise WriteError("the output writer stopped")
            try:
                with _exit_held():
                    self.items.put((name, table), timeout=0.1)
                return
            except queue.Full:
                continue

    def close(self, check: bool = True) -> None:
        """Wait for the queued chunks to be written and the files closed; raise the thread's error
        unless told not to (the run is failing already)."""
        while self.thread.is_alive():
            try:
                with _exit_held():
                    self.items.put(None, timeout=0.1)
                break
            except queue.Full:
                continue
        self.thread.join()
        if check:
            self._raise()


def written_rows(folder: Path) -> int:
    """Rows in a folder of Parquet files, from their footers."""
    return sum(pq.ParquetFile(p).metadata.num_rows for p in sorted(folder.glob("*.parquet")))


def publish(staging: Path, target: Path) -> None:
    """Move the finished folder into place; a previous result is replaced, never merged."""
    if target.exists():
        old = target.with_name(f".{target.name}.old-{staging.name.rsplit('-', 1)[-1]}")
        target.rename(old)
        staging.rename(target)
        shutil.rmtree(old)
    else:
        staging.rename(target)
