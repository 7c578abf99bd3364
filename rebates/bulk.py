"""Set-based inserts (PostgreSQL COPY) and index rebuilds for large writes: the SQL lives in rebates.sql.bulk;
this module keeps the names the rest of the code imports."""

from rebates.sql.bulk import copy_lines, csv_field, indexes_rebuilt_after, insert_rows

# Rows per statement for bulk_create.
BATCH_SIZE = 5000

__all__ = ["BATCH_SIZE", "copy_lines", "csv_field", "indexes_rebuilt_after", "insert_rows"]
