"""Makes docs/web-demo.png: the web demo in headless Chromium, while Alice's bio is being written.

Run from the repository: ``python docs/make_web_demo_png.py`` (needs Debian's chromium, playwright
and uvicorn: the test extra).
"""

from __future__ import annotations

import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

from streamstruct.__main__ import ALICE, CHUNK_SIZES, USERS
from streamstruct._demo.web import DemoApp
from streamstruct.testing import Reply, Simulator, serve, simulated_client

OUT = Path(__file__).resolve().with_name("web-demo.png")


def main() -> None:
    delay = 0.03
    profile = Simulator(responses=Reply(ALICE), chunk_size=CHUNK_SIZES, delay=delay)
    users = Simulator(
        responses=Reply({"items": USERS}, tool_calls="per_item"),
        chunk_size=CHUNK_SIZES,
        delay=delay,
    )
    app = DemoApp(simulated_client(profile), simulated_client(users), "gpt-4o-mini")
    with serve(app) as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=["--no-sandbox"]
        )
        page = browser.new_page(viewport={"width": 1200, "height": 720}, device_scale_factor=1)
        page.goto(url.removesuffix("/v1") + "/")
        # Halfway through the bio: the name and age done, the bio writing, the events flowing.
        page.wait_for_function(
            "document.querySelector('#field-bio .value').textContent.length > 120", timeout=30_000
        )
        page.screenshot(path=str(OUT))
        browser.close()
    print(f"wrote {OUT}", file=sys.stderr)


if __name__ == "__main__":
    main()
