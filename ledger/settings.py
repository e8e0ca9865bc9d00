"""Settings, read once by the composition root from ``LEDGER_*`` environment variables."""

from __future__ import annotations

import ipaddress
from pathlib import Path

from pydantic import Field, field_validator, model_validator
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
    read_wait_seconds: float = Field(
        default=5.0,
        ge=0,
        le=60,
        description="how long a query with min_position waits for the views before 409",
    )
    calendar_file: Path | None = Field(
        default=None, description="work calendar YAML; unset means the bundled Sumbar calendar"
    )
    calendar_overrides: Path | None = Field(
        default=None, description="extra days off / working days (late decrees), YAML"
    )
    oidc_issuer: str | None = Field(
        default=None, description="OIDC issuer (`iss`) whose JWTs are accepted; unset: none"
    )
    oidc_audience: str | None = Field(default=None, description="required `aud` of OIDC JWTs")
    oidc_jwks_url: str | None = Field(
        default=None,
        description="the issuer's JWKS: an http(s):// URL, or a file path (air-gapped setups)",
    )
    oidc_nip_claim: str = Field(default="nip", description="JWT claim holding the NIP")
    oidc_scopes_claim: str = Field(
        default="sop_ledger_scopes", description="JWT claim listing the caller's scopes"
    )
    webhook_retry_base_seconds: float = Field(
        default=5.0, gt=0, description="webhook backoff: the longest wait after attempt 1"
    )
    webhook_retry_max_seconds: float = Field(
        default=3600.0, gt=0, description="webhook backoff: the cap on any one wait"
    )
    webhook_max_attempts: int = Field(
        default=10, ge=1, description="attempts before a delivery is marked failed"
    )
    webhook_timeout_seconds: float = Field(default=10.0, gt=0, description="per POST")
    webhook_concurrency: int = Field(
        default=4, ge=1, le=64, description="subscriptions delivered at once per dispatcher"
    )
    metrics_token: str | None = Field(
        default=None,
        description="when set, GET /metrics needs it as a bearer token (Prometheus "
        "`authorization` credentials); unset: /metrics is open, restrict it at the network",
    )
    webhook_allowed_networks: list[str] = Field(
        default_factory=list,
        description="non-public networks webhooks may be sent to, as a JSON list of CIDRs "
        '(e.g. ["10.20.0.0/16"]); every other loopback, private, link-local or reserved '
        "address is refused",
    )

    migration_database_url: str | None = Field(
        default=None,
        description="PostgreSQL: the schema owner's URL for `db upgrade` when the service "
        "runs as the INSERT/SELECT-only role (ledger_app); unset: LEDGER_DATABASE_URL",
    )
    checkpoint_origin: str = Field(
        default="sop-ledger.local/ledger",
        description="the log's name on its signed checkpoints (C2SP origin line)",
    )
    signing_key_file: Path | None = Field(
        default=None,
        description="the Ed25519 checkpoint signing key; unset: <data_dir>/keys/checkpoint.key",
    )
    checkpoint_interval_seconds: float = Field(
        default=60.0, ge=0, description="how often `serve` signs a checkpoint (0: never)"
    )

    @field_validator("database_url")
    @classmethod
    def _postgres_only(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if not value.startswith(("postgresql://", "postgres://")):
            raise ValueError("LEDGER_DATABASE_URL must be a postgresql:// URL")
        return value

    @field_validator("oidc_jwks_url")
    @classmethod
    def _jwks_source(cls, value: str | None) -> str | None:
        if not value:
            return None
        if "://" in value and not value.startswith(("https://", "http://", "file://")):
            raise ValueError("LEDGER_OIDC_JWKS_URL must be an http(s):// URL or a file path")
        return value

    @field_validator("webhook_allowed_networks")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for network in value:
            try:
                ipaddress.ip_network(network, strict=False)
            except ValueError as error:
                raise ValueError(
                    f"LEDGER_WEBHOOK_ALLOWED_NETWORKS: {network!r} is not a network ({error})"
                ) from None
        return value

    @model_validator(mode="after")
    def _oidc_complete(self) -> Settings:
        given = [self.oidc_issuer, self.oidc_audience, self.oidc_jwks_url]
        if any(given) and not all(given):
            raise ValueError(
                "OIDC needs LEDGER_OIDC_ISSUER, LEDGER_OIDC_AUDIENCE and LEDGER_OIDC_JWKS_URL"
            )
        return self

    @property
    def oidc_enabled(self) -> bool:
        return bool(self.oidc_issuer and self.oidc_jwks_url)

    @property
    def backend(self) -> str:
        return "postgres" if self.database_url else "sqlite"

    @property
    def sqlite_path(self) -> Path:
        return self.data_dir / "ledger.sqlite"

    @property
    def ledger_target(self) -> str:
        """The ledger's own database: a PostgreSQL URL or the SQLite path."""
        return self.database_url or str(self.sqlite_path)

    @property
    def key_path(self) -> Path:
        return self.signing_key_file or self.data_dir / "keys" / "checkpoint.key"

    @property
    def views_target(self) -> str:
        """The view store: a PostgreSQL URL or a SQLite path."""
        if self.views_url:
            return self.views_url
        if self.database_url:
            return self.database_url
        return str(self.data_dir / "views.sqlite")
