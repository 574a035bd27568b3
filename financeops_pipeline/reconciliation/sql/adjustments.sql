-- The adjusting entries of the tolerance and FX matches (tolerance.sql, fx.sql), kept on the item that carries
-- them (details.adjustments: the bank credit, the first internal record), after people's resolutions: what the
-- results store keeps of a day is enough to post them (reconciliation/adjusting.py) and to audit them.
UPDATE item_status s
SET details = json_merge_patch(coalesce(s.details, '{}'::JSON), json_object('adjustments', a.entries))
FROM (SELECT carrier_source, carrier_ref,
             to_json(list({'idempotency_key': idempotency_key, 'rule_id': rule_id, 'rule_version': rule_version,
                           'match_group': match_group, 'currency': currency, 'amount_minor': amount_minor,
                           'adjust_account': adjust_account, 'counter_account': counter_account,
                           'description': description} ORDER BY idempotency_key)) AS entries
      FROM adjustments GROUP BY ALL) a
WHERE s.source = a.carrier_source AND s.source_ref = a.carrier_ref AND s.status = 'matched';
