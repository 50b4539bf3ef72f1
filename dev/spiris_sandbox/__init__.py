"""The Spiris sandbox: a faithful local emulator of the Spiris (Visma eEkonomi) identity server, REST API v2
and temporary file storage, seeded with deterministic Swedish companies and fault switches for tests.

It imports nothing of ours: it plays Spiris, not us. Start it with `spiris-sandbox` or programmatically with
`spiris_sandbox.server.SandboxServer(SandboxConfig(...))`.
"""
