"""Blob adapters: ``local`` (embedded default) and ``s3`` (minio SDK, imported lazily).

``api.container`` loads them by path, so importing this package never imports minio.
"""

from storage.blobs.keys import InvalidKey, InvalidRange, validate_key

__all__ = ["InvalidKey", "InvalidRange", "validate_key"]
