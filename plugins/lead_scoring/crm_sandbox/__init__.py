"""A local CRM sandbox speaking the HubSpot and Salesforce wire protocols.

``start_sandbox`` and ``SandboxHandle`` are imported lazily, so that the simulator's
``lead_scoring.crm_sandbox.store`` import does not pull in the web stack.
"""

from typing import Any

__all__ = ["SandboxHandle", "start_sandbox", "verified_session"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from lead_scoring.crm_sandbox import server

        return getattr(server, name)
    raise AttributeError(name)
