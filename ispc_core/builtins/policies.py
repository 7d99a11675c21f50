"""The default resource policy: limits from the configuration, nothing more.

Concurrency (``max_concurrent``) is enforced by the coordinator's admission
stage; this policy only supplies the configured limits.
"""

from __future__ import annotations

from ispc_core.hookspecs import hookimpl
from ispc_core.specs import ResourcePolicy


def _configured(request, limits):
    return limits


@hookimpl
def ispc_resource_policies():
    """The ``config-limits`` policy: applies ``[limits]`` of ispc.toml unchanged."""
    return [ResourcePolicy(name="config-limits", limits=_configured, description="limits from ispc.toml")]
