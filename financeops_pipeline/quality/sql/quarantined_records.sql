-- Records quarantined on the day, with file, position, field and message (warning when any).
SELECT file_name, position, field, message FROM imports.quarantine
WHERE tenant = %(tenant)s AND business_date = %(day)s ORDER BY file_name, position
