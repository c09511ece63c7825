"""Reads the records of a W&B run file (``run-<id>.wandb``) back, for tests of offline runs.

The file is W&B's transaction log: a 7-byte header (``:W&B``, magic ``0xBEE1``, version 0), then
LevelDB log blocks of 32 KiB whose chunks (CRC32 4 bytes, length 2 bytes little-endian, type
1 byte: full, first, middle, last) carry serialized ``wandb_internal_pb2.Record`` messages.
wandb 0.31 no longer ships a Python reader of it.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

from wandb.proto import wandb_internal_pb2

HEADER = b":W&B" + struct.pack("<HB", 0xBEE1, 0)
BLOCK = 32 * 1024
CHUNK_HEADER = 7
FULL, FIRST, MIDDLE, LAST = 1, 2, 3, 4


def read_records(path: Path) -> list[wandb_internal_pb2.Record]:
    """Every record of the run file, in order."""
    data = path.read_bytes()
    assert data.startswith(HEADER), f"{path} is not a W&B run file"
    records, pending, offset = [], b"", len(HEADER)
    while offset + CHUNK_HEADER <= len(data):
        left_in_block = BLOCK - offset % BLOCK
        if left_in_block < CHUNK_HEADER:  # the block's tail is zero padding
            offset += left_in_block
            continue
        length, kind = struct.unpack_from("<HB", data, offset + 4)
        payload = data[offset + CHUNK_HEADER : offset + CHUNK_HEADER + length]
        offset += CHUNK_HEADER + length
        if kind == 0 and length == 0:
            break
        pending = payload if kind in (FULL, FIRST) else pending + payload
        if kind in (FULL, LAST):
            record = wandb_internal_pb2.Record()
            record.ParseFromString(pending)
            records.append(record)
    return records


def history(path: Path) -> list[dict[str, Any]]:
    """The logged rows (``wandb.log`` calls), each as ``{key: value}``."""
    rows = []
    for record in read_records(path):
        if record.WhichOneof("record_type") == "history":
            rows.append(
                {
                    item.key or "/".join(item.nested_key): json.loads(item.value_json)
                    for item in record.history.item
                }
            )
    return rows


def config(path: Path) -> dict[str, Any]:
    """The run's config as recorded (the last value of each key)."""
    values: dict[str, Any] = {}
    for record in read_records(path):
        kind = record.WhichOneof("record_type")
        if kind in ("run", "config"):  # the run record holds the config given to wandb.init
            updates = record.run.config.update if kind == "run" else record.config.update
            for item in updates:
                values[item.key or "/".join(item.nested_key)] = json.loads(item.value_json)
    return values
