"""What every subcommand shares: settings lookup and error reporting."""

from __future__ import annotations

import os
from pathlib import Path

import click

from core.settings import Settings, SettingsError

# `cartwheel run` writes the URLs of its embedded services here, so commands run beside it
# (tenants, simulate, status) find them without any exported variable.
LOCAL_ENV = Path(".cartwheel") / "env"


def read_env_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines (blank lines and # comments ignored)."""
    values: dict[str, str] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            line = line.strip()
            if line and not line.startswith("#") and "=" in line:
                key, value = line.split("=", 1)
                values[key.strip()] = value.strip()
    return values


def load_settings() -> Settings:
    """Settings from the environment, completed by ./.cartwheel/env of a local `cartwheel run`."""
    environ = {**read_env_file(LOCAL_ENV), **os.environ}
    try:
        return Settings.from_env(environ)
    except SettingsError as exc:
        raise click.ClickException(
            f"{exc}. Set it, or start the local stack with `make run` first."
        ) from exc
