"""Deliverable packages (電子納品): safe unpacking of ZIPs and folder trees into a work's node
tree (``unpack``: pure; ``intake``: records), and the package reading and validation
(``package``, optional: the intake calls its ``analyse`` hook when the module exists)."""
