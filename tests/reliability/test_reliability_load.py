"""Load, small: 100 concurrent streams from one event loop against the simulator on loopback.

The heavy run (1,000 streams, the simulator in its own process, figures printed) is
``python -m benchmarks.load``; this keeps its code running and checks the same things at a size CI
can afford: every stream completes with the right final object (a ``Partial`` of a model with
nested lists), the pool has no connection checked out afterwards, nothing is left running, and the
figures are reported.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from reliability_support import Leaks

from streamstruct.testing import Reply, Simulator, serve

pytestmark = pytest.mark.anyio

HARNESS = Path(__file__).resolve().parents[2] / "benchmarks" / "load.py"


@pytest.fixture(scope="module")
def load() -> Iterator[ModuleType]:
    spec = importlib.util.spec_from_file_location("_streamstruct_load_benchmark", HARNESS)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        del sys.modules[spec.name]


async def test_a_hundred_concurrent_streams_all_complete(
    load: ModuleType, anyio_backend: str, capsys: pytest.CaptureFixture[str]
) -> None:
    value = load.order_value(items=2)
    simulator = Simulator(responses=Reply(value), chunk_size=4)
    async with serve(simulator) as url:
        leaks = Leaks.now()
        result = await load.run_load(
            url, 100, expected=load.Order.model_validate(value), backend=anyio_backend
        )
        await leaks.check()
    assert result.failures == 0
    assert result.streams == 100
    assert len(simulator.requests) == 102  # and two to count the events of one answer
    assert result.events > 100 * 50
    assert result.snapshots >= 100 * 3  # several snapshots per stream, not just the end
    assert result.events_per_second > 0
    with capsys.disabled():
        print(
            f"\n[load] {result.streams} streams on {anyio_backend}: {result.seconds:.2f} s, "
            f"{result.events_per_second:,} events/s, peak RSS {result.peak_rss_mib:.0f} MiB"
        )
