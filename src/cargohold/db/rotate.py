"""Re-encrypt every stored secret with the first key of `CARGOHOLD_SECRET_KEY`
(`cargohold secrets rotate`), so the keys after it can be dropped."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from ..crypto import EncryptedJSON, EncryptedText, keyring_of
from .tables import Base

__all__ = ["encrypted_columns", "rotate_secrets"]


def encrypted_columns() -> dict[str, list[str]]:
    """Table name -> its encrypted columns."""
    found: dict[str, list[str]] = {}
    for table in Base.metadata.sorted_tables:
        names = [c.name for c in table.columns if isinstance(c.type, EncryptedText | EncryptedJSON)]
        if names:
            found[table.name] = names
    return found


async def rotate_secrets(engine: AsyncEngine) -> int:
    """Re-write each encrypted value with the first key; the number of values re-written."""
    keyring = keyring_of(engine.sync_engine.dialect)
    count = 0
    async with engine.begin() as conn:
        for table, columns in encrypted_columns().items():
            rows = (await conn.execute(sa.text(f"SELECT uuid, {', '.join(columns)} FROM {table}"))).mappings().all()
            for row in rows:
                values = {c: keyring.rotate(row[c]) for c in columns if row[c] is not None}
                if values:
                    sets = ", ".join(f"{c} = :{c}" for c in values)
                    await conn.execute(
                        sa.text(f"UPDATE {table} SET {sets} WHERE uuid = :uuid"), {**values, "uuid": row["uuid"]}
                    )
                    count += len(values)
    return count
