"""users linked to the identity providers that may assert them; per-provider MFA vouching

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04 15:30:00

Issue 9: a SAML NameID used to name a user by e-mail (or a persistent one by external id) from
any registered provider. Now the subject key is (provider, NameID) in ``user_identity_links``.

What the upgrade links: only users with an ``external_id``, and only when the organisation has
exactly one identity provider and its ``name_identifier_format`` is persistent or unspecified.
That provider was then the only one that could assert those users by that external id, which an
admin set on purpose for it: the link keeps exactly that trust and adds none. Nothing is linked
by e-mail (an e-mail match is the flaw being fixed), nor when several providers exist (which
one was meant is unknown); those links must be made by an admin (API, console or CLI).
Existing providers get ``vouches_for_mfa`` false and the default MFA context classes.
"""

from datetime import datetime, timezone

from alembic import op
import sqlalchemy as sa
import keystead.store.types


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

# keystead.domain.identity_providers.DEFAULT_MFA_CONTEXT_CLASSES when this was written.
DEFAULT_MFA_CONTEXT_CLASSES = [
    "urn:oasis:names:tc:SAML:2.0:ac:classes:MobileTwoFactorContract",
    "urn:oasis:names:tc:SAML:2.0:ac:classes:MobileTwoFactorUnregistered",
    "urn:oasis:names:tc:SAML:2.0:ac:classes:TimeSyncToken",
    "https://refeds.org/profile/mfa",
    "http://schemas.microsoft.com/claims/multipleauthn",
]
LINKABLE_FORMATS = ("urn:oasis:names:tc:SAML:2.0:nameid-format:persistent",
                    "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified")


def upgrade() -> None:
    with op.batch_alter_table('identity_providers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('vouches_for_mfa', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
        batch_op.add_column(sa.Column('mfa_authn_context_classes', sa.JSON(), nullable=True))
    providers = sa.table('identity_providers', sa.column('id', sa.String),
                         sa.column('name_identifier_format', sa.String),
                         sa.column('mfa_authn_context_classes', sa.JSON))
    op.execute(providers.update().values(mfa_authn_context_classes=DEFAULT_MFA_CONTEXT_CLASSES))
    with op.batch_alter_table('identity_providers', schema=None) as batch_op:
        batch_op.alter_column('mfa_authn_context_classes', existing_type=sa.JSON(),
                              nullable=False)

    op.create_table('user_identity_links',
    sa.Column('identity_provider_id', sa.String(length=36), nullable=False),
    sa.Column('name_id', sa.String(length=512), nullable=False),
    sa.Column('user_id', sa.String(length=36), nullable=False),
    sa.Column('date_created', keystead.store.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['identity_provider_id'], ['identity_providers.id'],
                            name=op.f('fk_user_identity_links_identity_provider_id_identity_providers'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'],
                            name=op.f('fk_user_identity_links_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('identity_provider_id', 'name_id', name=op.f('pk_user_identity_links'))
    )
    with op.batch_alter_table('user_identity_links', schema=None) as batch_op:
        batch_op.create_index('ux_user_identity_links_user_provider',
                              ['user_id', 'identity_provider_id'], unique=True)

    bind = op.get_bind()
    found = bind.execute(sa.select(providers.c.id, providers.c.name_identifier_format)).all()
    if len(found) != 1 or found[0].name_identifier_format not in LINKABLE_FORMATS:
        return
    users = sa.table('users', sa.column('id', sa.String), sa.column('external_id', sa.String))
    links = sa.table('user_identity_links', sa.column('identity_provider_id', sa.String),
                     sa.column('name_id', sa.String), sa.column('user_id', sa.String),
                     sa.column('date_created', keystead.store.types.UTCDateTime()))
    now = datetime.now(timezone.utc)
    rows = [{"identity_provider_id": found[0].id, "name_id": row.external_id,
             "user_id": row.id, "date_created": now}
            for row in bind.execute(sa.select(users.c.id, users.c.external_id).where(
                users.c.external_id.is_not(None), users.c.external_id != ""))]
    if rows:
        op.bulk_insert(links, rows)


def downgrade() -> None:
    with op.batch_alter_table('user_identity_links', schema=None) as batch_op:
        batch_op.drop_index('ux_user_identity_links_user_provider')
    op.drop_table('user_identity_links')
    with op.batch_alter_table('identity_providers', schema=None) as batch_op:
        batch_op.drop_column('mfa_authn_context_classes')
        batch_op.drop_column('vouches_for_mfa')
