"""Repository-wide pytest configuration.

In CI (``CI`` set, as ``.ci/run`` runs) every dependency a test may need —
the plugins, Node and the tools under ``tools/node``, the native Poseidon
extension — is installed by ``make test``, so a test that skips there is a
broken install, not an optional feature: it is reported as a failure.
"""

from __future__ import annotations

import os

import pytest


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if os.environ.get("CI") and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.longrepr = f"skipped in CI, where make test installs everything: {reason}"
