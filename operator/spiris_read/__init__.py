"""The read side: a versioned JSON API over the synced copy, the auditor's viewer and the SIE 4 export.

The last stop of the data path (Spiris client → sync pipeline → stores → read side). Plain query functions
(`year_queries`, `voucher_queries`, `document_queries`, `sie_export`) read schema `spiris` and know nothing of
HTTP; `app` is a thin Starlette shell over them that authenticates every caller with Kubernetes (TokenReview,
then a SubjectAccessReview for `get` on the SpirisConnection, `kube_access`) and answers problem+json errors
(`problems`). Imports the stores and nothing above them.
"""
