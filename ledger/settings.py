"""Settings, read once by the composition root from ``LEDGER_*`` environment variables."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Where the ledger keeps its events and how the service behaves."""

    model_config = SettingsConfigDict(env_prefix="LEDGER_", extra="ignore", frozen=True)

    database_url: str | None = Field(
        default=None,
        description="postgresql://user:password@host:port/db selects PostgreSQL; "
        "unset means the embedded SQLite store in data_dir",
    )
    data_dir: Path = Field(default=Path("data"), description="where the SQLite store lives")
    cache_size: int = Field(default=20_000, ge=0, description="aggregates kept in memory")
    pool_size: int = Field(default=5, ge=1, le=100)
    lock_timeout_seconds: int = Field(default=5, ge=0)
    views_url: str | None = Field(
        default=None,
        description="where the read models live: a postgresql:// URL or a SQLite file path; "
        "unset means the ledger's own PostgreSQL database, or views.sqlite in data_dir",
    )
    calendar_file: Path | None = Field(
        default=None, description="work calendar YAML; unset means the bundled Sumbar calendar"
    )
    calendar_overrides: Path | None = Field(
        default=None, description="extra days off / working days (late decrees), YAML"
    )

    @field_validator("database_url")
    @classmethod
    def _postgres_only(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if not value.startswith(("postgresql://", "postgres://")):
            raise ValueError("LEDGER_DATABASE_URL must be a postgresql:// URL")
        return value

    @property
    def backend(self) -> str:
        return "postgres" if self.database_url else "sqlite"

    @property
    def sqlite_path(self) -> Path:
        return self.data_dir / "ledger.sqlite"

    @property
    def views_target(self) -> str:
        """The view store: a PostgreSQL URL or a SQLite path."""
        if self.views_url:
            return self.views_url
        if self.database_url:
            return self.database_url
        return str(self.data_dir / "views.sqlite")
