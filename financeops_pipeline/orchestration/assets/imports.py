"""Import assets: one per source, loading the partition's landed files into canonical Postgres tables."""

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import dagster as dg

from financeops_pipeline.imports.bankcsv import tenant_mappings
from financeops_pipeline.imports.loader import FileImport, import_files
from financeops_pipeline.landing import day_files
from financeops_pipeline.money import format_minor
from financeops_pipeline.orchestration.partitions import tenant_day_partitions
from financeops_pipeline.orchestration.resources import (
    RETRY_POLICY,
    FinanceopsResource,
    partition_days,
    partition_tenants,
    retry_only_transient,
)
from financeops_pipeline.reports.build import markdown_table


def _import_source(context: dg.AssetExecutionContext, financeops: FinanceopsResource,
                   source: str) -> dg.MaterializeResult:
    results: list[tuple[str, str, FileImport]] = []
    for tenant in partition_tenants(context, financeops):
        # bank CSV files are read with the tenant's bank_mappings/ (then the shipped ones): imports/bankcsv.py
        mappings = tenant_mappings(financeops.data_path, tenant) if source == "bank" else []
        with financeops.tenant_conn(tenant) as conn:
            for day in partition_days(context):
                # in order, one transaction each; the next file is read and parsed while one loads
                for outcome in import_files(conn, tenant, day_files(financeops.data_path, tenant, day, source), day,
                                            context.run_id, financeops.archive_path, mappings):
                    context.log.info(f"[{tenant} {day}] {outcome.summary()}")
                    results.append((tenant, day.isoformat(), outcome))
    rows = [{"tenant": t, "day": d, "file": o.path.rsplit("/", 1)[-1], "format": o.format, "status": o.status,
             "loaded": o.records_loaded, "quarantined": o.records_quarantined,
             "amounts": ", ".join(format_minor(v, c) for c, v in sorted(o.amount_totals.items()))}
            for t, d, o in results]
    return dg.MaterializeResult(metadata={
        "dagster/row_count": sum(o.records_loaded for *_, o in results),
        "files": len(results),
        "files_already_imported": sum(o.status == "already_imported" for *_, o in results),
        "records_quarantined": sum(o.records_quarantined for *_, o in results),
        "preview": dg.MetadataValue.md(markdown_table(
            rows, ["tenant", "day", "file", "format", "status", "loaded", "quarantined", "amounts"])),
    })


SOURCE_ASSETS = {
    "bank": dg.AssetSpec(
        ["imports", "bank_records"], group_name="imports", partitions_def=tenant_day_partitions, kinds={"postgres"},
        metadata={"table": "imports.bank_lines"},
        description="Bank statements (camt.053, BAI2, MT940, OFX, bank CSV by mapping) loaded into "
                    "imports.bank_lines."),
    "processor": dg.AssetSpec(
        ["imports", "processor_records"], group_name="imports", partitions_def=tenant_day_partitions,
        kinds={"postgres"}, metadata={"table": "imports.processor_lines"},
        description="Processor settlement reports (Stripe, Adyen, PayPal) loaded into imports.processor_lines."),
    "internal": dg.AssetSpec(
        ["imports", "internal_records"], group_name="imports", partitions_def=tenant_day_partitions,
        kinds={"postgres"}, metadata={"table": "imports.internal_transactions"},
        description="The company's own transaction export loaded into imports.internal_transactions."),
}
bank_records, processor_records, internal_records = SOURCE_ASSETS["bank"], SOURCE_ASSETS["processor"], \
    SOURCE_ASSETS["internal"]
IMPORTS_AT_ONCE = 2   # sources imported at once (each on its own session): parse and COPY overlap on two cores


@dg.multi_asset(
    name="imports", specs=list(SOURCE_ASSETS.values()), can_subset=True, partitions_def=tenant_day_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(), retry_policy=RETRY_POLICY,
)
def imported_records(context: dg.AssetExecutionContext,
                     financeops: FinanceopsResource) -> Iterator[dg.MaterializeResult]:
    """One step for the three sources, the largest first, two at a time (as `financeops bench` times them): one
    step per source ran them one after another under the in-process executor of `financeops run`."""
    selected = [source for source in ("processor", "internal", "bank")
                if SOURCE_ASSETS[source].key in context.selected_asset_keys]
    with retry_only_transient(), ThreadPoolExecutor(IMPORTS_AT_ONCE, thread_name_prefix="import") as pool:
        results = list(pool.map(lambda source: _import_source(context, financeops, source), selected))
    for source, result in zip(selected, results, strict=True):
        yield dg.MaterializeResult(asset_key=SOURCE_ASSETS[source].key, metadata=result.metadata)
