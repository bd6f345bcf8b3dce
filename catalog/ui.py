"""The catalog's web UI at ``/ui/`` (server-rendered)."""

from __future__ import annotations

from flask import Blueprint

from catalog.service import CatalogService

__all__ = ["create_blueprint"]


def create_blueprint(service: CatalogService) -> Blueprint:
    return Blueprint("catalog_ui", __name__, url_prefix="/ui")
