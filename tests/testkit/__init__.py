"""Helpers shared by every test suite, imported as a package (``from testkit.sandbox import sandbox_server``).

``sandbox`` starts Spiris sandboxes (one factory, one set of OAuth client credentials), ``sandbox_control`` is
the typed client of their ``/_sandbox`` control API, ``waiting.wait_for`` the one polling helper; the stacks
and samples of single suites (``sync_stack``, ``read_stack``, ``operator_stack``, ``consent_journey``,
``ledger_checks``, ``store_samples``, ``rate_windows``, ``sandbox_oauth``, ``image_run``) live here too, so
no test imports a bare module name; ``paths`` says where the repository's parts are.
"""
