"""Benchmarks behind the speed figures in the README (`financeops bench`)."""
