"""The enrolment page's QR code is drawn locally (moved here from the domain's MFA tests)."""

from keystead.domain.mfa import new_enrolment
from keystead.web.console.qr import qr_svg_data_uri


def test_enrolment_qr_code_is_an_svg_data_uri() -> None:
    enrolment = new_enrolment("jane@example.com")
    assert qr_svg_data_uri(enrolment.uri).startswith("data:image/svg+xml")
