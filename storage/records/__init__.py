"""Record store adapters: ``sqlite`` (embedded default) and ``mongo`` (PyMongo async API).

Import the adapter module you need; ``api.container`` loads them lazily by path so the
embedded default never imports pymongo.
"""
