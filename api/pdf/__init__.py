"""The shared PDF renderer (Typst) and bundling of PDFs; see ``renderer`` for why Typst."""

from api.pdf.bundle import (
    BundleError,
    BundlePart,
    IsolatedBundle,
    bundle,
    bundle_isolated,
    bundle_sync,
)
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
    "IsolatedBundle",
    "PdfRenderer",
    "RenderError",
    "bundle",
    "bundle_isolated",
    "bundle_sync",
    "encode_data",
    "shared_renderer",
]
