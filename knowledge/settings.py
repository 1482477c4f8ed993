"""Typed configuration, resolved once at the edge (CLI, UI, eval runner) and passed down.

Every field can be set from the environment with the ``TIA_`` prefix
(``TIA_DATA_DIR``, ``TIA_CHROMA_URL``, ``TIA_EMBEDDER``...). Unknown ``TIA_*``
keys passed as arguments are rejected.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

import platformdirs
from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from knowledge.errors import ConfigError

__all__ = ["Settings", "load_settings", "enforce_offline", "DEFAULT_EMBEDDER"]

DEFAULT_EMBEDDER = "e5-small"


def _default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("tia", appauthor=False))


def shown_url(url: str) -> str:
    """`url` with any password in it hidden: errors are printed, secrets never are."""
    return re.sub(r"//[^/@]*@", "//***@", url)


class Settings(BaseSettings):
    """Everything tia can be configured with.

    >>> s = Settings(data_dir="/tmp/tia-demo")
    >>> s.store_kind
    'embedded'
    """

    model_config = SettingsConfigDict(env_prefix="TIA_", extra="forbid", frozen=True)

    data_dir: Path = Field(default_factory=_default_data_dir)
    chroma_url: str | None = None
    collection: str = "tia"
    embedder: str = DEFAULT_EMBEDDER
    # Where the embedder runs: auto (cuda, else mps, else cpu), cpu, cuda, cuda:N, mps.
    # Only the spelling is checked here; whether the device exists is checked when the
    # model loads (knowledge.embeddings.resolve_device). e5-small is CPU-only.
    device: str = "auto"
    k: int = Field(default=8, ge=1, le=100)

    llm_base_url: str | None = None
    llm_model: str | None = None
    llm_api_key: SecretStr | None = None  # never shown: repr, errors and logs print '**********'
    llm_timeout_s: float = Field(default=60.0, gt=0)
    # Bounds the model's output: a small local model can otherwise generate until the time limit.
    llm_max_tokens: int = Field(default=400, ge=16, le=32768)
    llm_keep_unsupported: bool = False

    @field_validator("data_dir", mode="before")
    @classmethod
    def _expand(cls, value: object) -> object:
        if isinstance(value, str):
            if not value.strip():
                raise ValueError("TIA_DATA_DIR is empty")
            return Path(value).expanduser()
        return value

    @field_validator("chroma_url", "llm_base_url", "llm_model", "llm_api_key", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("device", mode="before")
    @classmethod
    def _check_device(cls, value: object) -> object:
        if value is None or isinstance(value, str):
            from knowledge.embeddings import normalise_device

            try:
                return normalise_device(value)
            except ConfigError as exc:
                raise ValueError(str(exc)) from None
        return value

    @field_validator("chroma_url")
    @classmethod
    def _check_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError(f"TIA_CHROMA_URL must start with http:// or https://, got {shown_url(value)!r}")
        return value

    @field_validator("llm_base_url")
    @classmethod
    def _check_llm_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError(f"TIA_LLM_BASE_URL must start with http:// or https://, got {shown_url(value)!r}")
        return value

    @property
    def store_kind(self) -> Literal["embedded", "server"]:
        return "server" if self.chroma_url else "embedded"

    @property
    def chroma_dir(self) -> Path:
        return self.data_dir / "chroma"

    @property
    def llm_enabled(self) -> bool:
        return bool(self.llm_base_url and self.llm_model)


def load_settings(**overrides: object) -> Settings:
    """Build the settings from the environment plus explicit overrides (None values ignored).

    Raises ConfigError with the offending field named, instead of pydantic's trace.
    """
    clean = {k: v for k, v in overrides.items() if v is not None}
    try:
        return Settings(**clean)  # type: ignore[arg-type]
    except Exception as exc:  # pydantic.ValidationError
        errors = getattr(exc, "errors", None)
        if callable(errors):
            parts = [
                f"{'.'.join(str(p) for p in e.get('loc', ())) or 'settings'}: {e.get('msg')}"
                for e in errors()
            ]
            raise ConfigError("invalid configuration: " + "; ".join(parts)) from exc
        raise ConfigError(f"invalid configuration: {exc}") from exc


def enforce_offline() -> None:
    """Make sure no library phones home: model hubs, telemetry, analytics, tracing.

    tia works from bundled models and local data only; these switches keep the
    libraries it uses from trying the network on their own.
    """
    import os

    for key, value in {
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "ANONYMIZED_TELEMETRY": "False",
        "GRADIO_ANALYTICS_ENABLED": "False",
    }.items():
        os.environ.setdefault(key, value)
    for key in ("LANGSMITH_TRACING", "LANGCHAIN_TRACING_V2", "LANGCHAIN_TRACING"):
        os.environ[key] = "false"
