"""Content credentials (C2PA): every clip is signed as AI-made; anyone can check a video.

The instance signs with a certificate chain (leaf then CA) and a PKCS8 EC P-256 key
(settings.C2PA_CERT_CHAIN, settings.C2PA_PRIVATE_KEY) and reads back trusting the CAs in
settings.C2PA_TRUST_ANCHORS. `manage.py c2pa_dev_ca` makes a development CA offline.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import io
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import c2pa
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

log = logging.getLogger(__name__)

CLAIM_GENERATOR = {"name": "Riff", "version": "0.1"}  # shown by readers as "Riff/0.1"
AI_SOURCE_TYPE = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
CLIP_ASSERTION = "org.riff.clip"
# The C2PA soft binding of Riff's invisible watermark: a reader that finds the watermark id
# in a copy stripped of its manifest looks the manifest up by it (the verify page and API
# do). Riff's own algorithm identifier: it is not in the C2PA soft binding algorithm list.
SOFT_BINDING = "c2pa.soft-binding"
SOFT_BINDING_ALG = "org.riff.watermark.1"
PARENT_LABEL = "parent"
DEV_ORGANIZATION = "Riff development (not for production)"
DEFAULT_FILES = {
    "C2PA_CERT_CHAIN": "chain.pem",
    "C2PA_PRIVATE_KEY": "key.pem",
    "C2PA_TRUST_ANCHORS": "ca.pem",
}
FIX = "for development run `python manage.py c2pa_dev_ca`"
FIX_FORCE = "for development run `python manage.py c2pa_dev_ca --force`"
TRUSTED, UNTRUSTED = "signingCredential.trusted", "signingCredential.untrusted"


class SigningUnavailable(ImproperlyConfigured):
    """The instance's signing certificate or key is missing or unreadable."""


@dataclass(frozen=True)
class Parent:
    """A remix's source clip, named as the parent ingredient of the new clip."""

    video: bytes  # the parent's signed MP4
    title: str


@dataclass(frozen=True)
class CredentialReading:
    """What a video's C2PA manifest says, and whether it holds up."""

    state: str | None  # "Trusted", "Valid", "Invalid", or None when there is no manifest
    title: str | None = None
    clip_id: str | None = None
    model_key: str | None = None
    ai_generated: bool = False
    ingredients: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    manifest: dict[str, Any] | None = None
    signed_by: str | None = None  # the signing certificate's issuer
    signed_at: str | None = None  # the signature's time, when the manifest states one


def setting_path(name: str) -> Path | None:
    """The file a C2PA_* setting names (default: under DATA_DIR/c2pa); None when set empty."""
    default = Path(getattr(settings, "DATA_DIR", ".data")) / "c2pa" / DEFAULT_FILES[name]
    value = getattr(settings, name, default)
    return Path(value) if value else None


def _read_setting(name: str) -> bytes:
    path = setting_path(name)
    if path is None:
        raise SigningUnavailable(
            f"Clips can't be signed: settings.{name} is empty. Set it, or {FIX}."
        )
    try:
        return path.read_bytes()
    except OSError as exc:
        raise SigningUnavailable(
            f"Clips can't be signed: settings.{name} points at {path}, which can't be read "
            f"({exc.strerror}). Set {name} to your PEM file, or {FIX}."
        ) from exc


def _check_pair(chain: bytes, key: bytes) -> None:
    """Refuse a key that isn't P-256 or doesn't match the leaf; c2pa only notices when signing."""
    refused = (
        "Clips can't be signed: C2PA_CERT_CHAIN must hold the signing certificate first, "
        "then its CA, and C2PA_PRIVATE_KEY its PKCS8 EC P-256 key"
    )
    try:
        leaf = x509.load_pem_x509_certificate(chain)
        private = serialization.load_pem_private_key(key, password=None)
    except ValueError as exc:
        raise SigningUnavailable(f"{refused} ({exc}). Fix them, or {FIX_FORCE}.") from exc
    if not isinstance(private, ec.EllipticCurvePrivateKey) or private.curve.name != "secp256r1":
        raise SigningUnavailable(f"{refused}; the key is not EC P-256. Fix it, or {FIX_FORCE}.")
    if private.public_key() != leaf.public_key():
        raise SigningUnavailable(
            f"{refused}; the key doesn't belong to the first certificate. Fix them, or {FIX_FORCE}."
        )


def _signer() -> c2pa.Signer:
    chain, key = _read_setting("C2PA_CERT_CHAIN"), _read_setting("C2PA_PRIVATE_KEY")
    _check_pair(chain, key)
    try:
        info = c2pa.C2paSignerInfo(c2pa.C2paSigningAlg.ES256, chain, key, None)
        return c2pa.Signer.from_info(info)
    except c2pa.C2paError as exc:
        raise SigningUnavailable(
            f"Clips can't be signed: the certificate in C2PA_CERT_CHAIN or the key in "
            f"C2PA_PRIVATE_KEY was refused ({exc}). Fix them, or {FIX_FORCE}."
        ) from exc


def _context() -> c2pa.Context:
    """A context trusting the instance's CAs; without any, signatures are Valid at best."""
    path = setting_path("C2PA_TRUST_ANCHORS")
    if path is None or not path.is_file():
        return c2pa.Context()
    anchors = path.read_text()
    if "BEGIN CERTIFICATE" not in anchors:
        # c2pa ignores a file it can't parse, so every clip would silently read as untrusted.
        log.warning("C2PA_TRUST_ANCHORS (%s) holds no PEM certificate", path)
    return c2pa.Context(settings=c2pa.Settings.from_dict({"trust": {"trust_anchors": anchors}}))


def soft_binding_value(watermark_id: int) -> str:
    """The soft binding's value for a watermark id: its 6 bytes, base64."""
    return base64.b64encode(watermark_id.to_bytes(6, "big")).decode()


def soft_binding_id(value: str) -> int | None:
    """The watermark id a soft binding's value holds, or None when it holds none."""
    try:
        raw = base64.b64decode(value, validate=True)
    except (ValueError, binascii.Error):
        return None
    return int.from_bytes(raw, "big") if len(raw) == 6 else None


def sign_clip(
    mp4: bytes,
    *,
    title: str,
    clip_id: str,
    model_key: str,
    parent: Parent | None = None,
    watermark_id: int | None = None,
) -> bytes:
    """The MP4 with a signed manifest: AI-made by `model_key`; a remix names its parent; the
    watermark id drawn into its frames is its soft binding."""
    agent = {"name": f"Riff ({model_key})"}
    if parent is None:
        actions = [{"action": "c2pa.created", "digitalSourceType": AI_SOURCE_TYPE,
                    "softwareAgent": agent}]  # fmt: skip
    else:
        # A derived asset opens its parent ingredient first (C2PA 2.x), then the model edits it.
        actions = [
            {"action": "c2pa.opened", "parameters": {"ingredientIds": [PARENT_LABEL]}},
            {"action": "c2pa.edited", "digitalSourceType": AI_SOURCE_TYPE, "softwareAgent": agent},
        ]
    assertions: list[dict[str, Any]] = [
        {"label": "c2pa.actions", "data": {"actions": actions}},
        {"label": CLIP_ASSERTION, "data": {"clip_id": clip_id, "model": model_key}},
    ]
    if watermark_id is not None:
        block = {"scope": {}, "value": soft_binding_value(watermark_id)}
        assertions.append(
            {"label": SOFT_BINDING, "data": {"alg": SOFT_BINDING_ALG, "blocks": [block]}}
        )
    manifest = {"claim_generator_info": [CLAIM_GENERATOR], "title": title, "assertions": assertions}
    out = io.BytesIO()
    # The builder gets the trust anchors so the parent's credentials are recorded as a reader
    # here would judge them.
    with _signer() as signer, _context() as context, c2pa.Builder(manifest, context) as builder:
        if parent is not None:
            ingredient = {"title": parent.title, "relationship": "parentOf", "label": PARENT_LABEL}
            builder.add_ingredient(ingredient, "video/mp4", io.BytesIO(parent.video))
        builder.sign(signer, "video/mp4", io.BytesIO(mp4), out)
    return out.getvalue()


def _codes(results: dict[str, Any] | None, kind: str) -> list[str]:
    return [item["code"] for item in (results or {}).get(kind, [])]


def _failures(results: dict[str, Any] | None) -> list[str]:
    """Failed codes of the active manifest and of its ingredients as re-checked now, once each."""
    if not results:
        return []
    codes = _codes(results.get("activeManifest"), "failure")
    for ingredient in results.get("ingredientDeltas", []):
        codes += _codes(ingredient.get("validationDeltas"), "failure")
    return list(dict.fromkeys(codes))


def _ingredient_state(ingredient: dict[str, Any], deltas: list[dict[str, Any]]) -> str | None:
    """An ingredient's state as this reader sees it: recorded at signing, updated by the deltas.

    The deltas say what changed since the remix was signed, e.g. a parent signed before its CA
    was trusted (recorded untrusted, now trusted), or a reader without the anchors.
    """
    if not ingredient.get("active_manifest"):
        return None  # the parent carried no credentials
    recorded = (ingredient.get("validation_results") or {}).get("activeManifest")
    suffix = "/c2pa.assertions/" + str(ingredient.get("label"))
    now: dict[str, Any] = next(
        (
            delta.get("validationDeltas") or {}
            for delta in deltas
            if str(delta.get("ingredientAssertionURI", "")).endswith(suffix)
        ),
        {},
    )
    failed = set(_codes(recorded, "failure")) | set(_codes(now, "failure"))
    if failed - {TRUSTED, UNTRUSTED}:
        return "Invalid"
    if TRUSTED in _codes(now, "success"):
        return "Trusted"
    trusted = TRUSTED in _codes(recorded, "success") and UNTRUSTED not in _codes(now, "failure")
    return "Trusted" if trusted else "Valid"


def _assertion(manifest: dict[str, Any], label: str) -> dict[str, Any]:
    for assertion in manifest.get("assertions", []):
        # Labels may carry a version suffix: c2pa.actions.v2.
        if assertion.get("label", "").split(".v")[0] == label:
            return dict(assertion.get("data") or {})
    return {}


def read_clip(data: bytes | IO[bytes], mime: str = "video/mp4") -> CredentialReading:
    """Read and validate a video's manifest (its bytes, or a binary file); no manifest, or an
    unreadable file, is state None."""
    stream = io.BytesIO(data) if isinstance(data, bytes) else data
    try:
        with (
            _context() as context,
            c2pa.Reader(mime, stream, context=context) as reader,
        ):
            state = reader.get_validation_state()
            results = reader.get_validation_results() or {}
            manifest = reader.get_active_manifest() or {}
    except c2pa.C2paError.ManifestNotFound:
        return CredentialReading(state=None)  # the common case: a video from elsewhere
    except c2pa.C2paError as exc:
        # A truncated or mangled file is reported, not raised: uploads are arbitrary bytes.
        return CredentialReading(state=None, errors=[str(exc)])
    actions = _assertion(manifest, "c2pa.actions").get("actions", [])
    clip = _assertion(manifest, CLIP_ASSERTION)
    deltas = results.get("ingredientDeltas", [])
    signature = manifest.get("signature_info") or {}
    ingredients = [
        {
            "title": item.get("title"),
            "relationship": item.get("relationship"),
            "state": _ingredient_state(item, deltas),
        }
        for item in manifest.get("ingredients", [])
    ]
    return CredentialReading(
        state=state,
        title=manifest.get("title"),
        clip_id=clip.get("clip_id"),
        model_key=clip.get("model"),
        ai_generated=any(a.get("digitalSourceType") == AI_SOURCE_TYPE for a in actions),
        ingredients=ingredients,
        errors=_failures(results),
        manifest=manifest or None,
        signed_by=signature.get("issuer") or signature.get("common_name"),
        signed_at=signature.get("time"),
    )


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, DEV_ORGANIZATION),
        ]
    )


def _usage(*, sign: bool, ca: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=sign, content_commitment=False, key_encipherment=False,
        data_encipherment=False, key_agreement=False, key_cert_sign=ca, crl_sign=ca,
        encipher_only=False, decipher_only=False,
    )  # fmt: skip


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def build_dev_ca(out: Path, *, years: int = 5) -> None:
    """Write a development CA (ca.pem), a signing chain (chain.pem) and its key (key.pem).

    The leaf meets what C2PA validators ask of a signer: signed by a CA (not self-signed),
    digitalSignature key usage, the emailProtection extended key usage, key identifiers.
    """
    now = datetime.datetime.now(datetime.UTC)
    # A day's slack so a clock a little behind doesn't see a certificate from the future.
    start, end = now - datetime.timedelta(days=1), now + datetime.timedelta(days=365 * years)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name("Riff development CA (not for production)")
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_usage(sign=False, ca=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(_name("Riff development signer (not for production)"))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_usage(sign=True, ca=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    out.mkdir(parents=True, exist_ok=True)
    (out / "ca.pem").write_bytes(_pem(ca))
    (out / "chain.pem").write_bytes(_pem(leaf) + _pem(ca))
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    key_file = out / "key.pem"
    key_file.unlink(missing_ok=True)
    # Created owner-only, so the key is never readable by others, not even for a moment.
    with os.fdopen(os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as f:
        f.write(key_pem)
