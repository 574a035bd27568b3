"""SQL models: `dbt_like_sql/**/*.sql` files with a YAML header become tables in schema `models`.

Plain Python (no Dagster): parsing the header, sandboxed Jinja templating of `ref()` / `source()`, the
dependency graph with clear errors (file and line), and running a model or its tests for one tenant-day.
`financeops_pipeline.orchestration.sql_models` turns a loaded project into Dagster assets and checks.
"""

from financeops_pipeline.sql_models.model import ModelError, ModelTest, SqlModel
from financeops_pipeline.sql_models.project import Project, default_models_dir, load_project

__all__ = ["ModelError", "ModelTest", "Project", "SqlModel", "default_models_dir", "load_project"]
