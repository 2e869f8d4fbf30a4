"""The source simulator: a seeded B2B SaaS funnel with ground truth, written to the CRM
sandbox, the product database and the marketing exports (see docs/simulator.md)."""

from lead_scoring.simulator.errors import SimulatorError
from lead_scoring.simulator.run import SimulationSummary, simulate, simulate_next_day

__all__ = ["SimulationSummary", "SimulatorError", "simulate", "simulate_next_day"]
