"""Content-addressed storage of product images: a local directory, or an S3-compatible bucket.

A blob's key is the SHA-256 of its bytes. A blob is written completely (temporary name, then an
atomic rename; S3 puts are atomic) before any database row names it, so a crash can leave an
unreferenced blob, which `collect_garbage` removes (once it is old enough not to be an upload in
progress in another process), but never a row pointing at half a file.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Protocol
from urllib.parse import urlparse


class BlobStore(Protocol):
    def put(self, data: bytes) -> str: ...
    def get(self, key: str) -> bytes: ...
    def delete(self, key: str) -> None: ...
    def keys(self, older_than_s: float = 0.0) -> Iterable[str]: ...


def blob_key(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class LocalBlobStore:
    """Blobs as files under a directory, fanned out by the first two hex digits."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        if len(key) != 64 or any(c not in "0123456789abcdef" for c in key):
            raise KeyError(key)
        return self.root / key[:2] / key

    def put(self, data: bytes) -> str:
        key = blob_key(data)
        path = self._path(key)
        if path.exists():
            return key
        path.parent.mkdir(exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".partial-")
        try:
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return key

    def get(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            raise KeyError(key) from None

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def keys(self, older_than_s: float = 0.0) -> Iterable[str]:
        """Keys of the stored blobs, only those written at least `older_than_s` seconds ago."""
        cutoff = time.time() - older_than_s
        for path in self.root.glob("??/*"):
            try:
                if path.stat().st_mtime > cutoff:
                    continue
            except FileNotFoundError:
                continue
            if path.name.startswith(".partial-"):
                path.unlink(missing_ok=True)  # left by a crash mid-write
            else:
                yield path.name


class S3BlobStore:
    """Blobs as objects in an S3-compatible bucket (AWS, MinIO, Ceph...), via boto3."""

    def __init__(self, bucket: str, prefix: str = "", endpoint_url: str | None = None) -> None:
        import boto3  # optional dependency: pip install boto3

        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.client = boto3.client("s3", endpoint_url=endpoint_url)

    def put(self, data: bytes) -> str:
        key = blob_key(data)
        self.client.put_object(Bucket=self.bucket, Key=self.prefix + key, Body=data)
        return key

    def get(self, key: str) -> bytes:
        try:
            return self.client.get_object(Bucket=self.bucket, Key=self.prefix + key)["Body"].read()
        except self.client.exceptions.NoSuchKey:
            raise KeyError(key) from None

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self.prefix + key)

    def keys(self, older_than_s: float = 0.0) -> Iterable[str]:
        """Keys of the stored blobs, only those written at least `older_than_s` seconds ago."""
        cutoff = time.time() - older_than_s
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self.prefix):
            for item in page.get("Contents", []):
                if item["LastModified"].timestamp() <= cutoff:
                    yield item["Key"][len(self.prefix) :]


def open_blob_store(url: str | None, default_dir: Path, s3_endpoint: str | None = None) -> BlobStore:
    """`s3://bucket/prefix` (at `s3_endpoint` for MinIO and the like) or a local path; default: default_dir."""
    if url and url.startswith("s3://"):
        parsed = urlparse(url)
        return S3BlobStore(parsed.netloc, parsed.path, s3_endpoint)
    return LocalBlobStore(Path(url) if url else default_dir)
