"""Charter: a governed event-streaming platform in one package.

The product's face: app assembly (``charter.app.create_app``), configuration,
the ``charter`` command, and (with the SDK issue) ``Producer`` and ``Consumer``.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("charter")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0"

__all__ = ["__version__"]
