"""The read side: a versioned JSON API over the synced copy, the auditor's viewer and the SIE 4 export.

The last stop of the data path (Spiris client → sync pipeline → stores → read side). It holds no SQL: the
store's read queries (`spiris_store.read_queries`, `spiris_store.sie4_copy`) answer read models, which
`json_forms` renders; `app` is a thin Starlette shell that authenticates every caller with Kubernetes
(TokenReview, then a SubjectAccessReview for `get` on the SpirisConnection, `kube_access`) and answers
problem+json errors (`problems`). Imports the stores and nothing above them.
"""
