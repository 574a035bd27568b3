"""Import assets: one per source, loading the partition's landed files into canonical Postgres tables."""


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


def _import_asset(source: str, table: str, description: str) -> dg.AssetsDefinition:
    @dg.asset(
        name=f"{source}_records", key_prefix=["imports"], group_name="imports", partitions_def=tenant_day_partitions,
        backfill_policy=dg.BackfillPolicy.single_run(), retry_policy=RETRY_POLICY, description=description,
        metadata={"table": table}, kinds={"postgres"},
    )
    def _asset(context: dg.AssetExecutionContext, financeops: FinanceopsResource) -> dg.MaterializeResult:
        with retry_only_transient():
            return _import_source(context, financeops, source)

    return _asset


bank_records = _import_asset("bank", "imports.bank_lines",
                             "Bank statements (camt.053, BAI2, MT940, OFX, bank CSV by mapping) loaded into "
                             "imports.bank_lines.")
processor_records = _import_asset("processor", "imports.processor_lines",
                                  "Processor settlement reports (Stripe, Adyen, PayPal) loaded into "
                                  "imports.processor_lines.")
internal_records = _import_asset("internal", "imports.internal_transactions",
                                 "The company's own transaction export loaded into imports.internal_transactions.")
