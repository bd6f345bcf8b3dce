"""``.proto`` files compiled with protoc (``grpc_tools.protoc``) into importable ``_pb2`` modules.

What an application does with its own files; the interop tests then hand the
generated classes to confluent-kafka's Protobuf serdes and to Charter's SDK.
"""

from __future__ import annotations

import importlib
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType

__all__ = ["compiled"]


@contextmanager
def compiled(root: Path, files: Mapping[str, str], module: str) -> Iterator[ModuleType]:
    """Write ``files`` (import path -> text) under ``root``, compile them, import ``module``.

    Every directory becomes a package; ``root`` is on ``sys.path`` while the context lasts.
    """
    import grpc_tools

    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        (path.parent / "__init__.py").touch()
    include = Path(grpc_tools.__file__).parent / "_proto"
    subprocess.run(
        [sys.executable, "-m", "grpc_tools.protoc", f"-I{root}", f"-I{include}",
         f"--python_out={root}", *files],
        check=True,
        cwd=root,
    )  # fmt: skip
    sys.path.insert(0, str(root))
    try:
        yield importlib.import_module(module)
    finally:
        sys.path.remove(str(root))
