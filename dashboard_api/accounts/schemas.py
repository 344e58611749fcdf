"""Request and response schemas of the account endpoints (they also generate the OpenAPI spec)."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from dashboard_api.accounts.passwords import MAX_LENGTH, MIN_LENGTH, password_problems
from models.accounts import ROLES
from shops.registration import TenantError, normalize_shop


class Trimmed(fields.String):
    """A string with surrounding whitespace removed, which must then not be empty."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs).strip()
        if not text:
            raise ValidationError("Must not be empty.")
        return text


class EmailAddress(fields.Email):
    """An email address, lower-cased (addresses are compared case-insensitively)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        if isinstance(value, str):
            value = value.strip()
        return str(super()._deserialize(value, attr, data, **kwargs)).lower()


class ShopDomain(fields.String):
    """`foo`, `foo.myshopify.com` or `https://foo.myshopify.com/admin` -> `foo.myshopify.com`."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            return normalize_shop(text)
        except TenantError as exc:
            raise ValidationError("Not a *.myshopify.com shop domain or URL.") from exc


class TimeZone(fields.String):
    """An IANA time zone name such as `Europe/Berlin`."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            ZoneInfo(text)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValidationError("Not an IANA time zone name.") from exc
        return text


# Documented as patterns too, so the OpenAPI spec tells clients what is accepted.
NOT_BLANK = validate.Regexp(r"^\s*\S", error="Must not be empty.")
SHOP_URL = validate.Regexp(
    r"^\s*([A-Za-z]+://)?[A-Za-z0-9][A-Za-z0-9-]*"
    r"(\.[Mm][Yy][Ss][Hh][Oo][Pp][Ii][Ff][Yy]\.[Cc][Oo][Mm])?(/.*)?\s*$",
    error="Not a *.myshopify.com shop domain or URL.",
)


def _password() -> fields.String:
    return fields.String(
        required=True,
        load_only=True,
        validate=validate.Length(
            min=MIN_LENGTH, max=MAX_LENGTH, error=f"Use {MIN_LENGTH} to {MAX_LENGTH} characters."
        ),
    )


def _role() -> fields.String:
    return fields.String(required=True, validate=validate.OneOf(ROLES))


class _CheckedPassword(Schema):
    @validates_schema(skip_on_field_errors=False)
    def _strong_password(self, data: dict[str, Any], **kwargs: Any) -> None:
        if not MIN_LENGTH <= len(data.get("password", "")) <= MAX_LENGTH:
            return  # missing or of the wrong length: the field says so already
        problems = password_problems(data["password"], email=data.get("email", ""))
        if problems:
            raise ValidationError(problems, field_name="password")


class RegisterIn(_CheckedPassword):
    name = Trimmed(required=True, validate=[validate.Length(max=255), NOT_BLANK])
    email = EmailAddress(required=True, validate=validate.Length(max=320))
    password = _password()
    store_url = ShopDomain(required=True, validate=[validate.Length(max=2048), SHOP_URL])
    webhook_secret = Trimmed(
        required=True, load_only=True, validate=[validate.Length(max=255), NOT_BLANK]
    )
    timezone = TimeZone(
        load_default="UTC",
        validate=[validate.Length(max=64), validate.Regexp(r"^[A-Za-z][A-Za-z0-9_+/-]*$")],
        metadata={"description": "IANA time zone of the shop, e.g. America/New_York"},
    )


class TenantOut(Schema):
    id = fields.UUID(required=True)
    name = fields.String(required=True)
    shop_domain = fields.String(required=True)
    status = fields.String(required=True)
    verified_at = fields.DateTime(
        allow_none=True, metadata={"description": "null until the owner proves the shop is theirs"}
    )
    timezone = fields.String(required=True)
    created_at = fields.DateTime(required=True)


class UserOut(Schema):
    id = fields.UUID(required=True)
    email = fields.String(required=True)
    role = fields.String(required=True, validate=validate.OneOf(ROLES))
    created_at = fields.DateTime(required=True)
    last_login_at = fields.DateTime(allow_none=True)


class RegisterOut(Schema):
    tenant = fields.Nested(TenantOut, required=True)
    user = fields.Nested(UserOut, required=True)


class RegistrationOut(Schema):
    """The same answer whether or not the shop or the email address is registered already."""

    status = fields.String(required=True, metadata={"description": "Always `accepted`"})
    message = fields.String(required=True)


class VerificationOut(Schema):
    verified = fields.Boolean(required=True)
    verified_at = fields.DateTime(allow_none=True)
    shop_domain = fields.String(required=True)
    methods = fields.List(
        fields.String(), required=True, metadata={"description": "`oauth`, `token`"}
    )


class AuthorizeOut(Schema):
    authorize_url = fields.String(
        required=True, metadata={"description": "Send the merchant here to install the app."}
    )


class OAuthCallbackIn(Schema):
    """The query parameters Shopify's redirect brought back, forwarded as they came."""

    code = fields.String(required=True, validate=validate.Length(min=1, max=512))
    hmac = fields.String(required=True, validate=validate.Length(min=1, max=128))
    shop = fields.String(required=True, validate=validate.Length(min=1, max=255))
    state = fields.String(required=True, validate=validate.Length(min=1, max=128))
    timestamp = fields.String(required=True, validate=validate.Length(min=1, max=32))
    host = fields.String(validate=validate.Length(max=512))


class TokenProofIn(Schema):
    access_token = Trimmed(required=True, load_only=True, validate=validate.Length(max=255))


class HoldOut(Schema):
    webhook_id = fields.String(required=True)
    topic = fields.String(required=True)
    customer_id = fields.Integer(allow_none=True)
    held_at = fields.DateTime(required=True)
    deadline_at = fields.DateTime(
        required=True, metadata={"description": "When Shopify expects the request carried out"}
    )
    overdue = fields.Boolean(required=True)
    decision = fields.String(allow_none=True, metadata={"description": "confirmed | rejected"})
    decided_by = fields.String(allow_none=True)
    decided_at = fields.DateTime(allow_none=True)


class LoginIn(Schema):
    email = fields.String(required=True, validate=validate.Length(min=1, max=320))
    password = _password()


class RefreshIn(Schema):
    refresh_token = fields.String(required=True, validate=validate.Length(min=1, max=512))


class TokensOut(Schema):
    access_token = fields.String(required=True)
    token_type = fields.String(required=True, metadata={"example": "Bearer"})
    expires_in = fields.Integer(required=True, metadata={"description": "Seconds"})
    refresh_token = fields.String(required=True)
    refresh_expires_in = fields.Integer(required=True, metadata={"description": "Seconds"})
    user = fields.Nested(UserOut, required=True)
    tenant_id = fields.UUID(required=True)


class RoleIn(Schema):
    role = _role()


class InviteIn(Schema):
    email = EmailAddress(required=True, validate=validate.Length(max=320))
    role = _role()


class InviteOut(Schema):
    id = fields.UUID(required=True)
    email = fields.String(required=True)
    role = fields.String(required=True)
    status = fields.String(
        required=True, validate=validate.OneOf(("pending", "accepted", "revoked", "expired"))
    )
    invited_by = fields.UUID(required=True)
    created_at = fields.DateTime(required=True)
    expires_at = fields.DateTime(required=True)


class InviteCreatedOut(InviteOut):
    token = fields.String(
        required=True, metadata={"description": "Give this to the invitee; it is shown once."}
    )


class InviteAcceptIn(Schema):
    token = fields.String(required=True, validate=validate.Length(min=1, max=512))
    password = _password()


class SecretIn(Schema):
    webhook_secret = Trimmed(
        required=True, load_only=True, validate=[validate.Length(max=255), NOT_BLANK]
    )


class SecretOut(Schema):
    previous_secret_valid_until = fields.DateTime(
        required=True, metadata={"description": "The old secret keeps verifying until then."}
    )


class ApiKeyIn(Schema):
    name = Trimmed(required=True, validate=[validate.Length(max=100), NOT_BLANK])


class ApiKeyOut(Schema):
    id = fields.UUID(required=True)
    name = fields.String(required=True)
    prefix = fields.String(required=True, metadata={"description": "The key's first characters"})
    created_by = fields.UUID(
        required=True, allow_none=True, metadata={"description": "null once that user is removed"}
    )
    created_at = fields.DateTime(required=True)
    revoked_at = fields.DateTime(allow_none=True)


class ApiKeyCreatedOut(ApiKeyOut):
    key = fields.String(
        required=True, metadata={"description": "The key itself; it is shown only this once."}
    )


class ShopSettings(Schema):
    """The tenant's settings: abandonment window and retention windows."""

    checkout_abandon_minutes = fields.Integer(
        required=True,
        validate=validate.Range(1, 30 * 24 * 60),
        metadata={
            "description": "Minutes without progress before a checkout or cart is abandoned."
        },
    )
    raw_retention_days = fields.Integer(
        required=True,
        validate=validate.Range(1, 3650),
        metadata={"description": "Days raw webhook payloads are kept in the event log."},
    )
    dead_letter_retention_days = fields.Integer(
        required=True,
        validate=validate.Range(1, 3650),
        metadata={"description": "Days dead letters are kept and replayable, then deleted."},
    )
    pii_retention_days = fields.Integer(
        required=True,
        validate=validate.Range(1, 3650),
        metadata={
            "description": "Days personal fields stay in an entity's stored payload after the "
            "version that brought them."
        },
    )


class ShopSettingsIn(Schema):
    checkout_abandon_minutes = fields.Integer(validate=validate.Range(1, 30 * 24 * 60))
    raw_retention_days = fields.Integer(validate=validate.Range(1, 3650))
    dead_letter_retention_days = fields.Integer(validate=validate.Range(1, 3650))
    pii_retention_days = fields.Integer(validate=validate.Range(1, 3650))

    @validates_schema
    def _not_empty(self, data: dict[str, Any], **kwargs: Any) -> None:
        if not data:
            raise ValidationError("Give at least one setting.", "_schema")


class PasswordChangeIn(Schema):
    current_password = fields.String(
        required=True, load_only=True, validate=validate.Length(min=1, max=MAX_LENGTH)
    )
    new_password = _password()


class PasswordResetIn(Schema):
    token = fields.String(required=True, validate=validate.Length(min=1, max=512))
    password = _password()


class ResetCreatedOut(Schema):
    user_id = fields.UUID(required=True)
    expires_at = fields.DateTime(required=True)
    token = fields.String(
        required=True,
        metadata={"description": "Give this to the user for POST /password/reset; shown once."},
    )


class SessionOut(Schema):
    id = fields.UUID(required=True)
    started_at = fields.DateTime(required=True)
    last_used_at = fields.DateTime(required=True, metadata={"description": "The last refresh"})
    expires_at = fields.DateTime(
        required=True, metadata={"description": "When its refresh token expires unless used"}
    )
    user_agent = fields.String(allow_none=True)
    current = fields.Boolean(
        required=True, metadata={"description": "The session of this request's access token"}
    )


class BrowserSessionOut(Schema):
    """A browser sign-in's answer: the tokens are in cookies that scripts cannot read."""

    user = fields.Nested(UserOut, required=True)
    tenant_id = fields.UUID(required=True)
    expires_in = fields.Integer(
        required=True, metadata={"description": "Seconds until the access cookie expires"}
    )
    refresh_expires_in = fields.Integer(
        required=True, metadata={"description": "Seconds until the session must sign in again"}
    )
