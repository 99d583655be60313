import os
import threading

from stratus.platform.runtime import environ


def test_inside_an_overlay_reads_see_the_functions_variables():
    with environ.overlay({"STRATUS_T_TABLE": "orders"}):
        assert os.environ["STRATUS_T_TABLE"] == "orders"
        assert os.getenv("STRATUS_T_TABLE") == "orders"
        assert "STRATUS_T_TABLE" in os.environ
    assert "STRATUS_T_TABLE" not in os.environ


def test_concurrent_overlays_do_not_see_each_other():
    seen: dict[str, str | None] = {}
    barrier = threading.Barrier(2)

    def run(name: str) -> None:
        with environ.overlay({"STRATUS_T_NAME": name}):
            barrier.wait()
            seen[name] = os.environ.get("STRATUS_T_NAME")

    threads = [threading.Thread(target=run, args=(n,)) for n in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert seen == {"a": "a", "b": "b"}


def test_writes_inside_an_overlay_stay_in_it():
    with environ.overlay({}):
        os.environ["STRATUS_T_WRITTEN"] = "1"
        assert os.environ["STRATUS_T_WRITTEN"] == "1"
    assert "STRATUS_T_WRITTEN" not in os.environ


def test_the_process_environment_shows_through():
    os.environ["STRATUS_T_BASE"] = "base"
    try:
        with environ.overlay({"OTHER": "x"}):
            assert os.environ["STRATUS_T_BASE"] == "base"
            assert dict(os.environ)["OTHER"] == "x"
    finally:
        del os.environ["STRATUS_T_BASE"]
