"""Test support: code the tests and benchmarks share that the product does not ship."""
