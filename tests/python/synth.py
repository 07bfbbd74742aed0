"""Small writers of synthetic FOCUS CSV for the tests (raw text control, no CSV library quirks)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa

BASE_HEADER = [
    "ChargePeriodStart", "ChargePeriodEnd", "BilledCost", "EffectiveCost", "ListUnitPrice",
    "ConsumedQuantity", "PricingQuantity", "ResourceId", "ResourceName", "ServiceName", "Tags",
    "x_Team",
]


def col(name: str, header=BASE_HEADER) -> int:
    """1-based field number of a column."""
    return header.index(name) + 1


def quote(cell: str) -> str:
    """RFC 4180 quoting when needed."""
    if any(c in cell for c in ',"\r\n'):
        return '"' + cell.replace('"', '""') + '"'
    return cell


def good_cells(i: int) -> dict:
    start = dt.datetime(2024, 9, 18, tzinfo=dt.timezone.utc) + dt.timedelta(hours=7 * i)
    end = start + dt.timedelta(hours=1)
    return {
        "ChargePeriodStart": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "ChargePeriodEnd": end.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "BilledCost": f"{i % 1000}.{(i * 7919) % 100000:05d}123",
        "EffectiveCost": "0.5",
        "ListUnitPrice": "0.0000001",
        "ConsumedQuantity": f"{i}.25",
        "PricingQuantity": "2",
        "ResourceId": f"res-{i % 5}",
        "ResourceName": f"name {i}",
        "ServiceName": "Compute",
        "Tags": '{"env":"prod","shard":"%d"}' % (i % 3),
        "x_Team": "finops",
    }


def line_of(cells: dict, header=BASE_HEADER, raw=()) -> str:
    """One CSV record; columns named in `raw` are written verbatim (no quoting)."""
    return ",".join(cells.get(h, "") if h in raw else quote(cells.get(h, "")) for h in header)


def write_csv(path: Path, lines, header=BASE_HEADER, newline="\n", bom=False, header_line=None) -> Path:
    text = (header_line if header_line is not None else ",".join(header)) + newline
    text += "".join(l + newline for l in lines)
    data = text.encode("utf-8")
    if bom:
        data = b"\xef\xbb\xbf" + data
    path.write_bytes(data)
    return path


def file_with_bad_row(path: Path, column: str, raw_cell: str, good_before=3, good_after=2,
                      header=BASE_HEADER) -> tuple[Path, int]:
    """good rows, then one row whose `column` is `raw_cell` verbatim, then more good rows.

    Returns (path, line of the bad record)."""
    lines = [line_of(good_cells(i), header) for i in range(good_before)]
    bad = good_cells(good_before)
    bad[column] = raw_cell
    lines.append(line_of(bad, header, raw={column}))
    lines += [line_of(good_cells(good_before + 1 + i), header) for i in range(good_after)]
    write_csv(path, lines, header)
    return path, good_before + 2


def zstd_compress(data: bytes) -> bytes:
    """A standard zstd frame, made with pyarrow's codec (no zstd command needed)."""
    return pa.compress(data, codec="zstd", asbytes=True)
