"""The workspace store: the only code that knows the SQLite schema or writes a SQL statement.

``reid_core.workspace.Workspace`` composes the parts: ``schema`` (tables, opening checks),
``footage`` (cameras, videos, tracklets, boxes, crops), ``vectors_db`` (models, embeddings,
gate maps) and ``labels`` (verdicts and identities). Everything else calls methods, so a second
backend has one seam to replace.
"""
