"""`kubectl spiris`: the kubectl plugin over the custom resources and the read API.

`kube_context` follows kubectl's conventions (current context, `-n/--namespace`, `--kubeconfig`);
`cluster` reads and annotates SpirisConnections and FiscalYearSyncs; `read_api` calls `spiris-api` with the
kubeconfig's own bearer token; `sync_progress` follows a requested sync with a progress bar; `cli` is the
command line. The plugin holds no rights of its own: everything it does, the user's kubeconfig may do.
"""
