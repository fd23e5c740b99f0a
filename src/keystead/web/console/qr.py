"""QR codes for the console's pages, drawn locally (segno): no external service sees the text."""

from __future__ import annotations

import segno


def qr_svg_data_uri(text: str) -> str:
    """``text`` as a QR code in an SVG data URI, for an ``<img src>``."""
    return str(segno.make(text, error="m").svg_data_uri(scale=5, border=2))
