"""Test data: realistic 電子納品 packages (issue 3 item 10). See ``package.generate``."""

from tests.datagen.defects import DEFECTS
from tests.datagen.package import Manifest, Options, generate
from tests.datagen.sink import FileEntry

__all__ = ["DEFECTS", "FileEntry", "Manifest", "Options", "generate"]
