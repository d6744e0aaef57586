"""Uploaded files, stored in PostgreSQL chunks so any worker on any machine can read them."""

from __future__ import annotations

import hashlib
import io
from typing import Any, BinaryIO

from flask import current_app
from werkzeug.exceptions import RequestEntityTooLarge

from webapp.errors import NotFound
from webapp.extensions import db
from webapp.models import Upload, UploadChunk
from webapp.models.uploads import CHUNK_SIZE


def store_upload(stream: BinaryIO, filename: str, content_type: str,
                 user_id: int | None) -> Upload:
    """Copy a file into the database chunk by chunk (flushed as we go, so memory stays flat).

    Raises:
        RequestEntityTooLarge: over the configured size limit (413).
    """
    limit = current_app.config["MAX_CONTENT_LENGTH"]
    upload = Upload(filename=(filename or "upload.csv")[:255],
                    content_type=(content_type or "")[:100], created_by=user_id)
    db.session.add(upload)
    db.session.flush()
    digest, size, seq = hashlib.sha256(), 0, 0
    while chunk := stream.read(CHUNK_SIZE):
        size += len(chunk)
        if limit and size > limit:
            db.session.rollback()
            raise RequestEntityTooLarge(f"the file is larger than the {limit // 2**20} MB limit")
        digest.update(chunk)
        row = UploadChunk(upload_id=upload.id, seq=seq, data=chunk)
        db.session.add(row)
        db.session.flush()
        db.session.expunge(row)  # the session must not keep every chunk alive
        seq += 1
    upload.size_bytes = size
    upload.sha256 = digest.hexdigest()
    return upload


def describe(upload_id: int) -> dict[str, Any]:
    upload = db.session.get(Upload, upload_id)
    if upload is None:
        raise NotFound(f"upload {upload_id} does not exist")
    return {"id": upload.id, "filename": upload.filename, "size_bytes": upload.size_bytes,
            "sha256": upload.sha256}


class UploadReader(io.RawIOBase):
    """A read-only binary stream over an upload's chunks, fetched one at a time."""

    def __init__(self, upload_id: int):
        self.upload_id = upload_id
        self._seq = 0
        self._buffer = memoryview(b"")
        self._done = False

    def readable(self) -> bool:
        return True

    def _next_chunk(self) -> bytes:
        with db.engine.connect() as conn, \
                conn.connection.driver_connection.cursor(binary=True) as cursor:
            # Binary results: the chunk's bytes as they are, where text would have
            # PostgreSQL write them out in hex and Python parse that back, per MiB.
            row = cursor.execute(
                "SELECT data FROM upload_chunks WHERE upload_id = %s AND seq = %s",
                (self.upload_id, self._seq)).fetchone()
        self._seq += 1
        return bytes(row[0]) if row is not None else b""

    def readinto(self, target) -> int:
        if not self._buffer and not self._done:
            self._buffer = memoryview(self._next_chunk())
            self._done = not self._buffer
        size = min(len(target), len(self._buffer))
        target[:size] = self._buffer[:size]
        self._buffer = self._buffer[size:]
        return size


def open_upload(upload_id: int) -> BinaryIO:
    return io.BufferedReader(UploadReader(upload_id), buffer_size=CHUNK_SIZE)
