"""Lead-scoring pipeline: sources, quality gate, CRM sync, calibration and simulator."""
