"""The benchmark's scenarios, one module each; each offers `run(ctx) -> dict` of JSON-ready figures."""
