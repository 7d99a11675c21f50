"""Circuits: statements proven about a sealed execution (see docs/circuits.md).

* :mod:`.contract_execution` — ``contract_execution.v1``: knowledge of a trace
  whose Poseidon commitment is a public input, and that the execution result
  hash is the Poseidon hash of (resource, request, that commitment, effects).
"""
