"""user-facing grants: codes, refresh tokens, consents, SAML providers

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 00:59:03.628078
"""

from alembic import op
import sqlalchemy as sa
import keystead.store.types


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('saml_assertions',
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('expires_at', keystead.store.types.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('digest', name=op.f('pk_saml_assertions'))
    )
    with op.batch_alter_table('saml_assertions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_saml_assertions_expires_at'), ['expires_at'], unique=False)

    op.create_table('identity_providers',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('organization_id', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('issuer_uri', sa.String(length=1024), nullable=False),
    sa.Column('certificates', sa.JSON(), nullable=False),
    sa.Column('relying_party_identifier', sa.String(length=1024), nullable=False),
    sa.Column('name_identifier_format', sa.String(length=256), nullable=False),
    sa.Column('disabled', sa.Boolean(), nullable=False),
    sa.Column('date_created', keystead.store.types.UTCDateTime(), nullable=False),
    sa.Column('date_modified', keystead.store.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_identity_providers_organization_id_organizations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_identity_providers'))
    )
    with op.batch_alter_table('identity_providers', schema=None) as batch_op:
        batch_op.create_index('ux_identity_providers_org_issuer', ['organization_id', 'issuer_uri'], unique=True)

    op.create_table('authorization_codes',
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('family_id', sa.String(length=36), nullable=False),
    sa.Column('client_id', sa.String(length=36), nullable=False),
    sa.Column('user_id', sa.String(length=36), nullable=False),
    sa.Column('redirect_uri', sa.Text(), nullable=False),
    sa.Column('scope', sa.Text(), nullable=False),
    sa.Column('code_challenge', sa.String(length=128), nullable=True),
    sa.Column('nonce', sa.Text(), nullable=True),
    sa.Column('auth_time', keystead.store.types.UTCDateTime(), nullable=False),
    sa.Column('amr', sa.JSON(), nullable=False),
    sa.Column('expires_at', keystead.store.types.UTCDateTime(), nullable=False),
    sa.Column('consumed_at', keystead.store.types.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_authorization_codes_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('digest', name=op.f('pk_authorization_codes'))
    )
    with op.batch_alter_table('authorization_codes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_authorization_codes_expires_at'), ['expires_at'], unique=False)

    op.create_table('consents',
    sa.Column('user_id', sa.String(length=36), nullable=False),
    sa.Column('client_id', sa.String(length=36), nullable=False),
    sa.Column('scopes', sa.JSON(), nullable=False),
    sa.Column('granted_at', keystead.store.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_consents_client_id_clients'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_consents_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', 'client_id', name=op.f('pk_consents'))
    )
    op.create_table('grant_families',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('client_id', sa.String(length=36), nullable=False),
    sa.Column('user_id', sa.String(length=36), nullable=False),
    sa.Column('created_at', keystead.store.types.UTCDateTime(), nullable=False),
    sa.Column('revoked_at', keystead.store.types.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_grant_families_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_grant_families'))
    )
    with op.batch_alter_table('grant_families', schema=None) as batch_op:
        batch_op.create_index('ix_grant_families_user_client', ['user_id', 'client_id'], unique=False)

    op.create_table('refresh_tokens',
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('family_id', sa.String(length=36), nullable=False),
    sa.Column('client_id', sa.String(length=36), nullable=False),
    sa.Column('user_id', sa.String(length=36), nullable=False),
    sa.Column('scope', sa.Text(), nullable=False),
    sa.Column('auth_time', keystead.store.types.UTCDateTime(), nullable=False),
    sa.Column('amr', sa.JSON(), nullable=False),
    sa.Column('issued_at', keystead.store.types.UTCDateTime(), nullable=False),
    sa.Column('expires_at', keystead.store.types.UTCDateTime(), nullable=False),
    sa.Column('used_at', keystead.store.types.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_refresh_tokens_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('digest', name=op.f('pk_refresh_tokens'))
    )
    with op.batch_alter_table('refresh_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_refresh_tokens_expires_at'), ['expires_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_refresh_tokens_family_id'), ['family_id'], unique=False)

    with op.batch_alter_table('clients', schema=None) as batch_op:
        batch_op.add_column(sa.Column('client_type', sa.String(length=16), server_default='confidential', nullable=False))

    with op.batch_alter_table('signing_keys', schema=None) as batch_op:
        batch_op.add_column(sa.Column('retire_after', keystead.store.types.UTCDateTime(), nullable=True))

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('external_id', sa.String(length=255), nullable=True))
        batch_op.create_index('ux_users_org_external_id', ['organization_id', 'external_id'], unique=True)



def downgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_index('ux_users_org_external_id')
        batch_op.drop_column('external_id')

    with op.batch_alter_table('signing_keys', schema=None) as batch_op:
        batch_op.drop_column('retire_after')

    with op.batch_alter_table('clients', schema=None) as batch_op:
        batch_op.drop_column('client_type')

    with op.batch_alter_table('refresh_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_refresh_tokens_family_id'))
        batch_op.drop_index(batch_op.f('ix_refresh_tokens_expires_at'))

    op.drop_table('refresh_tokens')
    with op.batch_alter_table('grant_families', schema=None) as batch_op:
        batch_op.drop_index('ix_grant_families_user_client')

    op.drop_table('grant_families')
    op.drop_table('consents')
    with op.batch_alter_table('authorization_codes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_authorization_codes_expires_at'))

    op.drop_table('authorization_codes')
    with op.batch_alter_table('identity_providers', schema=None) as batch_op:
        batch_op.drop_index('ux_identity_providers_org_issuer')

    op.drop_table('identity_providers')
    with op.batch_alter_table('saml_assertions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_saml_assertions_expires_at'))

    op.drop_table('saml_assertions')
