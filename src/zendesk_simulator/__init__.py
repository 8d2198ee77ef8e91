"""A high-fidelity stand-in for a Zendesk account, for tests, demos and benchmarks."""
