"""The demo page and the JS client in a real browser: Debian's headless Chromium, driven by
Playwright for Python. What a person would see: the card's fields fill in, in order, the bio
grows across several looks, the users appear one by one, an error keeps what was shown, and
closing the page closes the upstream stream.

Marked ``browser``; CI runs them (``.ci/run`` installs chromium and playwright). Without chromium
they fail under CI (CI=true) and are skipped, saying why, elsewhere.
"""

from __future__ import annotations

import importlib
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_web_close import LONG_ALICE, Recorder
from web_support import missing

from streamstruct import AsyncClient
from streamstruct._demo.scenario import ALICE, CHUNK_SIZES, USERS
from streamstruct._demo.web import DemoApp
from streamstruct.testing import Reply, Simulator, Truncate, serve, simulated_client

pytestmark = pytest.mark.browser

CHROMIUM = os.environ.get("STREAMSTRUCT_CHROMIUM", "/usr/bin/chromium")

# What the page shows, read in one go: each field's state and text, the progress, the cards.
LOOK = """() => ({
  phase: document.body.dataset.phase,
  fields: Object.fromEntries(["name", "age", "bio"].map((name) => {
    const field = document.getElementById(`field-${name}`);
    return [name, [field.dataset.state, field.querySelector(".value").textContent]];
  })),
  progress: document.getElementById("progress").textContent,
  users: [...document.querySelectorAll("#users .user-card b")].map((b) => b.textContent),
  error: document.getElementById("profile-error").textContent,
  events: document.querySelectorAll("#events li").length,
})"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not os.path.exists(CHROMIUM):
        missing("chromium", f"{CHROMIUM} runs these tests (apt-get install -y chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing("playwright", "it drives the browser (pip install playwright)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield browser
        browser.close()


def simulators(delay: float, *faults: Any) -> DemoApp:
    profile = Simulator(responses=Reply(ALICE, faults=faults), chunk_size=CHUNK_SIZES, delay=delay)
    users = Simulator(
        responses=Reply({"items": USERS}, tool_calls="per_item"),
        chunk_size=CHUNK_SIZES,
        delay=delay,
    )
    return DemoApp(simulated_client(profile), simulated_client(users), "m")


def watch(page: Any, until: str, seconds: float = 30.0) -> list[dict[str, Any]]:
    """Look at the page every few milliseconds until ``until`` (a JS expression) holds."""
    looks = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        looks.append(page.evaluate(LOOK))
        if page.evaluate(until):
            looks.append(page.evaluate(LOOK))
            return looks
        time.sleep(0.02)
    raise AssertionError(f"{until} never held; last look: {looks[-1]}")


def first(looks: list[dict[str, Any]], field: str, state: str) -> int:
    return next(i for i, look in enumerate(looks) if look["fields"][field][0] == state)


def test_the_card_fills_in_field_by_field_then_the_users_appear_one_by_one(browser: Any) -> None:
    with serve(simulators(delay=0.02)) as url:
        page = browser.new_page()
        page.goto(url.removesuffix("/v1") + "/")
        looks = watch(page, "document.body.dataset.phase === 'done'")
        page.close()
    # The fields begin in order, each done before the next begins (in every look: whatever the
    # timing, a field is never seen begun while the one before it is not done), the progress
    # climbing with them.
    order = ["name", "age", "bio"]
    for look in looks:
        states = [look["fields"][name][0] for name in order]
        begun = [state != "pending" for state in states]
        done = [state == "done" for state in states]
        assert begun == sorted(begun, reverse=True), look
        assert done == sorted(done, reverse=True), look
        assert all(all(done[:i]) for i, is_begun in enumerate(begun) if is_begun), look
        assert look["progress"] == f"{round(100 * sum(done) / 3)}%", look
    assert first(looks, "name", "done") <= first(looks, "age", "done") < first(looks, "bio", "done")
    # The bio grows across several looks before it is done, always a prefix of the end.
    growing = [look["fields"]["bio"][1] for look in looks if look["fields"]["bio"][0] == "writing"]
    assert len(set(growing)) >= 3
    assert all(str(ALICE["bio"]).startswith(text) for text in growing)
    assert sorted(growing, key=len) == growing
    # The users, one card at a time.
    counts = [len(look["users"]) for look in looks]
    assert counts == sorted(counts)
    assert len(set(counts)) >= 3
    end = looks[-1]
    assert end["fields"] == {
        "name": ["done", "Alice"],
        "age": ["done", "28"],
        "bio": ["done", ALICE["bio"]],
    }
    assert end["progress"] == "100%"
    assert end["users"] == [user["name"] for user in USERS]
    assert end["events"] > 40  # the protocol panel listed the events
    assert end["error"] == ""


def test_an_error_mid_stream_shows_the_error_and_keeps_the_partial(browser: Any) -> None:
    with serve(simulators(0.005, Truncate(after_chars=120))) as url:
        page = browser.new_page()
        page.goto(url.removesuffix("/v1") + "/")
        looks = watch(page, "document.body.dataset.phase === 'done'")
        page.close()
    end = looks[-1]
    assert end["error"].startswith("IncompleteOutputError: ")
    assert end["error"].count("IncompleteOutputError") == 1  # the type, said once
    assert "length" in end["error"]
    assert end["fields"]["name"] == ["done", "Alice"]
    assert end["fields"]["age"] == ["done", "28"]
    state, bio = end["fields"]["bio"]
    assert state == "writing"
    assert bio
    assert str(ALICE["bio"]).startswith(bio)
    assert end["users"] == []  # the list was not asked for


def test_closing_the_page_closes_the_upstream_stream(browser: Any) -> None:
    upstream = Recorder(Simulator(responses=Reply(LONG_ALICE, chunk_size=3, delay=0.02)))
    with serve(upstream) as upstream_url:
        client = AsyncClient(base_url=upstream_url, api_key="sk-test", max_retries=0)
        with serve(DemoApp(client, client, "m")) as url:
            page = browser.new_page()
            page.goto(url.removesuffix("/v1") + "/")
            watch(page, "document.getElementById('field-bio').dataset.state === 'writing'")
            page.close()
            closed_at = time.monotonic()
            assert upstream.finished.wait(5), "the upstream request was never closed"
            assert time.monotonic() - closed_at < 2.0
            sent = upstream.sent
            time.sleep(0.3)
            assert upstream.sent == sent
    assert upstream.left.is_set()
    assert sent < len(str(LONG_ALICE)) // 6


def test_the_fastapi_example_page_shows_the_model_text_as_text(
    browser: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The model's text is data, never markup: a user copying the example must not inherit an
    # injection (a name the model was talked into writing as HTML).
    examples = Path(__file__).resolve().parents[2] / "examples"
    monkeypatch.syspath_prepend(str(examples))
    example = importlib.import_module("web_fastapi")
    name = '<img id="injected" src="x" onerror="document.title=1">Mallory'
    people = [{"name": name, "age": 30, "bio": "Hi."}, {"name": "Bob", "age": 35, "bio": "Yo."}]
    users = Simulator(responses=Reply({"items": people}, tool_calls="per_item"))
    monkeypatch.setattr(example, "users_client", simulated_client(users))
    with serve(example.app) as url:
        page = browser.new_page()
        page.goto(url.removesuffix("/v1") + "/")
        page.wait_for_function("document.querySelectorAll('#users li').length === 2")
        shown = page.evaluate(
            "[...document.querySelectorAll('#users li')].map((li) => li.textContent)"
        )
        injected = page.evaluate("document.getElementById('injected') !== null")
        page.close()
    assert shown == [name, "Bob"]
    assert not injected
