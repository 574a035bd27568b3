"""The breaks workbench: actions on breaks with four-eyes approval, an append-only audit log, day sign-off and the
day lock. Plain domain modules (no web framework here); `web/` is a thin FastAPI layer over them."""
