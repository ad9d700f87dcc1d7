"""The browser client and the demo page ship in the wheel and the sdist, where web.CLIENT_JS
points: built here with hatchling, as a release is."""

from __future__ import annotations

import tarfile
import zipfile
from pathlib import Path

import pytest

from streamstruct import web

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ("streamstruct/web/client.js", "streamstruct/web/demo.html")


def test_the_wheel_carries_the_client_where_client_js_points(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hatchling.builders.wheel import WheelBuilder

    monkeypatch.delenv("STREAMSTRUCT_COMPILE", raising=False)  # the pure build is enough here
    wheel = next(
        iter(WheelBuilder(str(ROOT)).build(directory=str(tmp_path), versions=["standard"]))
    )
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        assert set(SHIPPED) <= names
        assert archive.read("streamstruct/web/client.js") == web.CLIENT_JS.read_bytes()
    # CLIENT_JS is found beside the module, wherever the package is installed.
    assert web.CLIENT_JS.relative_to(Path(web.__file__).parent) == Path("client.js")


def test_the_sdist_carries_the_client(tmp_path: Path) -> None:
    from hatchling.builders.sdist import SdistBuilder

    sdist = next(
        iter(SdistBuilder(str(ROOT)).build(directory=str(tmp_path), versions=["standard"]))
    )
    with tarfile.open(sdist) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    assert set(SHIPPED) <= names
