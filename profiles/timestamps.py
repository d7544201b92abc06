"""The range of timestamps the API stores: what Python and every client can represent.

Postgres accepts `infinity` and years up to 294276, which psycopg cannot load into a datetime;
one such value in a row made every read of it fail (issue 11). The CHECKs keep a day inside
Python's range, so a stored value also survives conversion to any UTC offset.
"""

from datetime import UTC, datetime

from django.db import models

EARLIEST = datetime(1, 1, 2, tzinfo=UTC)
LATEST = datetime(9999, 12, 31, tzinfo=UTC)

# Migrations run this once before adding the CHECKs. Values out of range or in the future
# (a timestamp only a forged write sets) become now(); the trigger moves updated_at too.
REPAIR_SQL = """
update {table} set
  created_at = case when created_at >= {earliest} and created_at <= now() + interval '1 day'
                    then created_at else now() end,
  updated_at = case when updated_at >= {earliest} and updated_at <= now() + interval '1 day'
                    then updated_at else now() end
where not (created_at >= {earliest} and created_at <= now() + interval '1 day')
   or not (updated_at >= {earliest} and updated_at <= now() + interval '1 day');
"""


def repair_sql(table: str) -> str:
    """Return the UPDATE that brings table's stored timestamps into range (see REPAIR_SQL)."""
    return REPAIR_SQL.format(table=table, earliest=f"'{EARLIEST.isoformat()}'::timestamptz")


def timestamp_range(table: str, column: str) -> models.CheckConstraint:
    """Return the CHECK keeping column finite and within EARLIEST..LATEST."""
    return models.CheckConstraint(
        condition=models.Q((f"{column}__gte", EARLIEST), (f"{column}__lt", LATEST)),
        name=f"{table}_{column}_range",
    )
