"""`python -m financeops_pipeline.sql_models [DIR]`: list the SQL models, their dependencies and errors.

Exit status 1 when any model is invalid (each error names file and line), so CI can run it.
"""

from __future__ import annotations

import sys
from pathlib import Path

from financeops_pipeline.sql_models.project import load_project


def main(argv: list[str]) -> int:
    project = load_project(Path(argv[0]) if argv else None)
    print(f"SQL models in {project.root}: {len(project.models)}")
    for model in project.ordered():
        deps = [f"models/{n}" for n in model.upstream_models] + ["/".join(k) for k in model.upstream_source_keys]
        state = "ok" if model.valid else "INVALID"
        print(f"  models/{model.name} [{state}] {model.engine} {'daily' if model.partitioned else 'unpartitioned'}"
              f" group={model.group} ({model.relative_path})")
        print(f"    deps: {', '.join(deps) or '-'}")
        if model.tests:
            print(f"    tests: {', '.join(t.name for t in model.tests)}")
    for err in project.errors:
        print(f"error: {err}", file=sys.stderr)
    return 1 if project.errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
