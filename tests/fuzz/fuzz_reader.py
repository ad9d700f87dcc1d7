"""Coverage-guided fuzzing of the whole decoding pipeline (atheris; optional, not run by CI).

    .venv/bin/python tests/fuzz/fuzz_reader.py -max_total_time=600 -rss_limit_mb=2048 [corpus_dir]

Any bytes as a response body, in pieces: ``PartialReader`` (SSE, chunk JSON, the wire format,
the JSON parser, the partial model) either gives a model or raises a ``StreamStructError``,
never anything else. A seed corpus of real bodies is written by ``--seed DIR``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import atheris

sys.path.insert(0, str(Path(__file__).parent))

with atheris.instrument_imports():
    from pydantic import BaseModel

    from streamstruct._errors import StreamStructError
    from streamstruct._request._modes import plan_request
    from streamstruct._response._partial_reader import PartialReader

from _common import pieces


class Item(BaseModel):
    name: str
    tags: list[str] = []


class Report(BaseModel):
    title: str
    count: int
    items: list[Item]


MESSAGES = [{"role": "user", "content": "x"}]
PLANS = [
    plan_request(Report, MESSAGES, mode=mode)
    for mode in ("tools", "json_schema", "json", "md_json")
]


def test_one_input(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    plan = PLANS[fdp.ConsumeIntInRange(0, len(PLANS) - 1)]
    body = fdp.ConsumeBytes(fdp.remaining_bytes())
    reader = PartialReader(plan, max_response_bytes=1 << 20, max_depth=32)
    try:
        for part in pieces(atheris.FuzzedDataProvider(data[:64]), body):
            reader.feed(part)
        reader.finish()
    except StreamStructError:
        pass


def _seed(directory: Path) -> None:
    import anyio
    import httpx

    from streamstruct.testing import Reply, Simulator, StreamingASGITransport

    directory.mkdir(parents=True, exist_ok=True)
    value = {"title": "t", "count": 2, "items": [{"name": "a", "tags": ["x"]}, {"name": "b"}]}

    async def fetch(mode: str) -> bytes:
        plan = plan_request(Report, MESSAGES, mode=mode)
        body = {"model": "m", "messages": list(plan.messages), "stream": True, **plan.body}
        simulator = Simulator(responses=Reply(value))
        transport = StreamingASGITransport(simulator)
        async with httpx.AsyncClient(transport=transport, base_url="http://sim") as http:
            return (await http.post("/v1/chat/completions", json=body)).content

    for index, mode in enumerate(("tools", "json_schema", "json", "md_json")):
        (directory / f"seed-{mode}").write_bytes(bytes([0, 0, 0, index]) + anyio.run(fetch, mode))


if __name__ == "__main__":
    if sys.argv[1:2] == ["--seed"]:
        _seed(Path(sys.argv[2]))
    else:
        atheris.Setup(sys.argv, test_one_input)
        atheris.Fuzz()
