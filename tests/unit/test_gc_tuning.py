"""The collector's settings for ``lykta serve``: start-up frozen, full collections rare."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from lykta import cli
from lykta.config import Settings
from lykta.gc_tuning import THRESHOLDS, tune_for_server


@pytest.fixture
def restored() -> Iterator[None]:
    thresholds = gc.get_threshold()
    try:
        yield
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)


@pytest.mark.usefixtures("restored")
def test_start_up_is_frozen_and_full_collections_are_rare() -> None:
    tune_for_server()
    assert gc.get_freeze_count() > 10_000  # modules, classes, mappers: never walked again
    assert gc.get_threshold() == THRESHOLDS
    young, _, old = THRESHOLDS
    assert young >= 10 * 700  # the default: objects get time to die by reference count
    assert old >= 10 * 10  # a full collection at most a tenth as often as by default


def test_serve_tunes_the_collector_after_building_the_app(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[str] = []
    monkeypatch.setattr(cli, "_check_port_free", lambda host, port: None)
    monkeypatch.setattr("lykta.web.privacy.configure_logging", lambda: None)

    def build_app(settings: Settings) -> object:
        calls.append("app")
        return object()

    monkeypatch.setattr(cli, "build_app", build_app)
    monkeypatch.setattr("lykta.gc_tuning.tune_for_server", lambda: calls.append("gc"))

    class Server:
        def __init__(self, config: object) -> None:
            pass

        def run(self) -> None:
            calls.append("run")

    monkeypatch.setattr("uvicorn.Server", Server)
    monkeypatch.setattr(cli, "server_config", lambda *args: object())
    cli.serve(Settings(), "127.0.0.1", 1)
    assert calls == ["app", "gc", "run"]
