"""電子納品 packages (MLIT and 農水): safe XML reading, typed readers, the §2.2 validation.

``validate_tree(tree, profile)`` works on any ``PackageTree``: a folder (``FolderTree``), a ZIP
(``ZipTree``) or bytes fetched from the archive (``MemoryTree``).
"""

from indexer.extract.deliverable.rules import Finding, Profile
from indexer.extract.deliverable.tree import Entry, FolderTree, MemoryTree, PackageTree, ZipTree
from indexer.extract.deliverable.validate import Report, WorkExpect, reads_for, validate_tree

__all__ = [
    "Entry",
    "Finding",
    "FolderTree",
    "MemoryTree",
    "PackageTree",
    "Profile",
    "Report",
    "WorkExpect",
    "ZipTree",
    "reads_for",
    "validate_tree",
]
