"""Reviewer web app (`scriptcheck serve`): review queue, evidence view, decisions, access log, training.

`create_app(WebConfig(...))` builds the FastAPI application; see analyzer/web/app.py.
"""

from analyzer.web.app import WebConfig, create_app

__all__ = ["WebConfig", "create_app"]
