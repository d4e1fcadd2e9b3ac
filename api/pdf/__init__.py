"""The shared PDF renderer (Typst) and bundling of PDFs; see ``renderer`` for why Typst."""

from api.pdf.bundle import BundleError, BundlePart, bundle, bundle_sync
from api.pdf.renderer import (
    FontsMissing,
    PdfRenderer,
    RenderError,
    encode_data,
    shared_renderer,
)

DOCUMENT = "pdf/templates/document.typ"

__all__ = [
    "DOCUMENT",
    "BundleError",
    "BundlePart",
    "FontsMissing",
    "PdfRenderer",
    "RenderError",
    "bundle",
    "bundle_sync",
    "encode_data",
    "shared_renderer",
]
