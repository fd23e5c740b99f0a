"""SAML core §5.4.1-5.4.4 and RFC 7522 §3: the assertion's enveloped signature, verified by the
key of one of the identity provider's certificates.

One reference, only the enveloped-signature and canonicalisation transforms, RSA, RSA-PSS or
ECDSA with SHA-256 or stronger. From then on only the element the signature covers (signxml's
``signed_xml``) is read, and it must be the root assertion itself (same ``ID``): a wrapped or
injected assertion (XML signature wrapping) is never read.
"""

from __future__ import annotations

from datetime import datetime

from lxml import etree
from signxml.algorithms import (
    CanonicalizationMethod,
    DigestAlgorithm,
    SignatureConstructionMethod,
    SignatureMethod,
)
from signxml.exceptions import (
    InvalidCertificate,
    InvalidDigest,
    InvalidInput,
    InvalidSignature,
    SignXMLException,
)
from signxml.verifier import SignatureConfiguration, VerifyResult, XMLVerifier

from keystead.domain.identity_providers import IdentityProvider
from keystead.protocol.saml_document import NS, SAML, refused, xml_parser

SIGNATURE_METHODS = frozenset({
    SignatureMethod.RSA_SHA256, SignatureMethod.RSA_SHA384, SignatureMethod.RSA_SHA512,
    SignatureMethod.SHA256_RSA_MGF1, SignatureMethod.SHA384_RSA_MGF1,
    SignatureMethod.SHA512_RSA_MGF1,
    SignatureMethod.ECDSA_SHA256, SignatureMethod.ECDSA_SHA384, SignatureMethod.ECDSA_SHA512,
})
DIGEST_ALGORITHMS = frozenset({DigestAlgorithm.SHA256, DigestAlgorithm.SHA384,
                               DigestAlgorithm.SHA512})
# SAML core §5.4.4: "Signatures in SAML messages SHOULD NOT contain transforms other than the
# enveloped signature transform ... or the exclusive canonicalization transforms".
TRANSFORMS = frozenset({SignatureConstructionMethod.enveloped.value,
                        *(method.value for method in CanonicalizationMethod)})

def signed_assertion(root: etree._Element, provider: IdentityProvider, *,
                      now: datetime) -> etree._Element:
    """The assertion as its signature covers it, verified against the provider's certificates.

    Raises:
        InvalidGrantError: unsigned, signed by another key, altered, a forbidden algorithm or
            transform, or the signature covers something other than the root assertion.
    """
    signature = root.find("ds:Signature", NS)
    if signature is None:
        raise refused("the assertion is not signed (no enveloped Signature)")
    config = SignatureConfiguration(
        location="./", expect_references=1, signature_methods=SIGNATURE_METHODS,
        digest_algorithms=DIGEST_ALGORITHMS, verification_time=now)
    failures: list[str] = []
    result: VerifyResult | None = None
    for pem in provider.settings.certificates:
        try:
            verified = XMLVerifier().verify(root, x509_cert=pem, parser=xml_parser(),
                                            id_attribute="ID", expect_config=config)
        except InvalidDigest:
            failures.append("digest mismatch: the assertion was changed after it was signed")
        except InvalidCertificate:
            failures.append("the identity provider's certificate is expired or not yet valid")
        except InvalidSignature:
            failures.append("signature by an untrusted key")
        except InvalidInput as exc:
            failures.append("signature algorithm not allowed" if "forbidden" in str(exc)
                            else f"malformed signature: {exc}")
        # A signature that breaks the XML-DSig schema, or holds values signxml cannot decode.
        except (SignXMLException, etree.LxmlError, ValueError, TypeError) as exc:
            failures.append(f"malformed signature: {type(exc).__name__}")
        else:
            result = verified if isinstance(verified, VerifyResult) else None
            break
    if result is None:
        # A key that verified the signature tells more than the keys that did not.
        specific = [f for f in failures if f != "signature by an untrusted key"]
        raise refused((specific or failures or ["signature by an untrusted key"])[0])
    signed = result.signed_xml
    # SAML core §5.4.2: the reference is "to the ID attribute value of the root element".
    if signed is None or signed.tag != f"{{{SAML}}}Assertion" or (
            signed.get("ID") != root.get("ID")):
        raise refused("signature wrapping: the signed element is not the root assertion")
    for transform in result.signature_xml.iterfind(
            "ds:SignedInfo/ds:Reference/ds:Transforms/ds:Transform", NS):
        if transform.get("Algorithm") not in TRANSFORMS:
            raise refused("signature transform not allowed")
    # Whatever sits inside ds:Signature is outside the signed data: SAML content there is a
    # wrapping attempt aimed at readers that search the whole document.
    if signature.find(".//saml:*", NS) is not None or signature.find("ds:Object", NS) is not None:
        raise refused("signature wrapping: unsigned content inside the Signature")
    return signed
