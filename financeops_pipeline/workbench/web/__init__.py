"""The workbench's web layer: FastAPI routes and Jinja2 templates over financeops_pipeline.workbench."""
