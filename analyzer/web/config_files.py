"""The web app's agency-editable settings files (retention.toml, approval.toml): the agency's own copy
in the data folder replaces the package's default as a whole, and a file that cannot be read is one
line naming it."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any


def own_or_default(data_dir: Path, default: Path) -> Path:
    """DATA_DIR/<default's name> when the agency has one, else the package's `default`."""
    own = data_dir / default.name
    return own if own.is_file() else default


def read_toml(path: Path, what: str, error: type[Exception]) -> dict[str, Any]:
    """The parsed file; raises `error` with one line naming the file (`what`: the setting's Chinese name)."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as err:
        raise error(f"{path}: 无法读取{what}配置（{err}）") from None
    except tomllib.TOMLDecodeError as err:
        raise error(f"{path}: TOML 语法错误（{err}）") from None
