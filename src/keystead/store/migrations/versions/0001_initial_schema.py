"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-26 23:57:13.133077
"""

from alembic import op
import sqlalchemy as sa
import keystead.store.types


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table('organizations',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_organizations'))
    )
    op.create_table('signing_keys',
    sa.Column('kid', sa.String(length=64), nullable=False),
    sa.Column('alg', sa.String(length=16), nullable=False),
    sa.Column('private_jwk_encrypted', sa.Text(), nullable=False),
    sa.Column('public_jwk', sa.JSON(), nullable=False),
    sa.Column('date_created', keystead.store.types.UTCDateTime(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('kid', name=op.f('pk_signing_keys'))
    )
    op.create_table('tokens',
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('client_id', sa.String(length=36), nullable=False),
    sa.Column('subject_id', sa.String(length=36), nullable=True),
    sa.Column('scope', sa.Text(), nullable=False),
    sa.Column('issued_at', keystead.store.types.UTCDateTime(), nullable=False),
    sa.Column('expires_at', keystead.store.types.UTCDateTime(), nullable=False),
    sa.Column('revoked_at', keystead.store.types.UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('digest', name=op.f('pk_tokens')),
    sqlite_with_rowid=False
    )
    with op.batch_alter_table('tokens', schema=None) as batch_op:
        batch_op.create_index('ix_tokens_client_issued', ['client_id', 'issued_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_tokens_expires_at'), ['expires_at'], unique=False)

    op.create_table('audit_events',
    sa.Column('organization_id', sa.String(length=36), nullable=False),
    sa.Column('seq', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('timestamp', keystead.store.types.UTCDateTime(), nullable=False),
    sa.Column('actor_kind', sa.String(length=16), nullable=False),
    sa.Column('actor_id', sa.String(length=64), nullable=False),
    sa.Column('actor_name', sa.String(length=320), nullable=False),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('entity_type', sa.String(length=32), nullable=False),
    sa.Column('entity_id', sa.String(length=64), nullable=False),
    sa.Column('entity_name', sa.String(length=320), nullable=False),
    sa.Column('result', sa.String(length=16), nullable=False),
    sa.Column('remote_ip', sa.String(length=64), nullable=False),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_audit_events_organization_id_organizations')),
    sa.PrimaryKeyConstraint('organization_id', 'seq', name=op.f('pk_audit_events')),
    sa.UniqueConstraint('id', name=op.f('uq_audit_events_id'))
    )
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_events_action'), ['action'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_events_entity_id'), ['entity_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_events_timestamp'), ['timestamp'], unique=False)

    op.create_table('audit_head',
    sa.Column('organization_id', sa.String(length=36), nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('last_hash', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_audit_head_organization_id_organizations')),
    sa.PrimaryKeyConstraint('organization_id', name=op.f('pk_audit_head'))
    )
    op.create_table('clients',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('organization_id', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('description', sa.String(length=512), nullable=False),
    sa.Column('grant_types', sa.JSON(), nullable=False),
    sa.Column('scopes', sa.JSON(), nullable=False),
    sa.Column('redirect_uris', sa.JSON(), nullable=False),
    sa.Column('token_ttl_seconds', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('date_to_delete', keystead.store.types.UTCDateTime(), nullable=True),
    sa.Column('token_format', sa.String(length=16), nullable=False),
    sa.Column('require_pkce', sa.Boolean(), nullable=False),
    sa.Column('owner_contact', sa.String(length=320), nullable=False),
    sa.Column('date_created', keystead.store.types.UTCDateTime(), nullable=False),
    sa.Column('date_modified', keystead.store.types.UTCDateTime(), nullable=False),
    sa.Column('created_by', sa.JSON(), nullable=False),
    sa.Column('modified_by', sa.JSON(), nullable=False),
    sa.Column('date_last_used', keystead.store.types.UTCDateTime(), nullable=True),
    sa.Column('tokens_valid_after', keystead.store.types.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_clients_organization_id_organizations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_clients'))
    )
    with op.batch_alter_table('clients', schema=None) as batch_op:
        batch_op.create_index('ix_clients_org_name', ['organization_id', 'name'], unique=False)

    op.create_table('divisions',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('organization_id', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('description', sa.String(length=512), nullable=False),
    sa.Column('home', sa.Boolean(), nullable=False),
    sa.Column('date_created', keystead.store.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_divisions_organization_id_organizations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_divisions'))
    )
    with op.batch_alter_table('divisions', schema=None) as batch_op:
        batch_op.create_index('ux_divisions_org_name', ['organization_id', 'name'], unique=True)

    op.create_table('roles',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('organization_id', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('description', sa.String(length=512), nullable=False),
    sa.Column('permissions', sa.JSON(), nullable=False),
    sa.Column('builtin', sa.Boolean(), nullable=False),
    sa.Column('date_created', keystead.store.types.UTCDateTime(), nullable=False),
    sa.Column('date_modified', keystead.store.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_roles_organization_id_organizations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_roles'))
    )
    with op.batch_alter_table('roles', schema=None) as batch_op:
        batch_op.create_index('ux_roles_org_name', ['organization_id', 'name'], unique=True)

    op.create_table('scopes',
    sa.Column('organization_id', sa.String(length=36), nullable=False),
    sa.Column('id', sa.String(length=128), nullable=False),
    sa.Column('description', sa.String(length=512), nullable=False),
    sa.Column('builtin', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_scopes_organization_id_organizations')),
    sa.PrimaryKeyConstraint('organization_id', 'id', name=op.f('pk_scopes'))
    )
    op.create_table('users',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('organization_id', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('password_hash', sa.Text(), nullable=True),
    sa.Column('mfa_secret', sa.Text(), nullable=True),
    sa.Column('date_created', keystead.store.types.UTCDateTime(), nullable=False),
    sa.Column('date_modified', keystead.store.types.UTCDateTime(), nullable=False),
    sa.Column('date_last_login', keystead.store.types.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_users_organization_id_organizations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users'))
    )
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.create_index('ux_users_org_email', ['organization_id', 'email'], unique=True)

    op.create_table('client_role_divisions',
    sa.Column('client_id', sa.String(length=36), nullable=False),
    sa.Column('role_id', sa.String(length=36), nullable=False),
    sa.Column('division_id', sa.String(length=36), nullable=False),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_client_role_divisions_client_id_clients'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['division_id'], ['divisions.id'], name=op.f('fk_client_role_divisions_division_id_divisions')),
    sa.ForeignKeyConstraint(['role_id'], ['roles.id'], name=op.f('fk_client_role_divisions_role_id_roles')),
    sa.PrimaryKeyConstraint('client_id', 'role_id', 'division_id', name=op.f('pk_client_role_divisions'))
    )
    op.create_table('client_secrets',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('client_id', sa.String(length=36), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('date_created', keystead.store.types.UTCDateTime(), nullable=False),
    sa.Column('date_expires', keystead.store.types.UTCDateTime(), nullable=True),
    sa.Column('date_last_used', keystead.store.types.UTCDateTime(), nullable=True),
    sa.Column('current', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_client_secrets_client_id_clients'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_client_secrets'))
    )
    with op.batch_alter_table('client_secrets', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_client_secrets_client_id'), ['client_id'], unique=False)

    op.create_table('user_grants',
    sa.Column('user_id', sa.String(length=36), nullable=False),
    sa.Column('role_id', sa.String(length=36), nullable=False),
    sa.Column('division_id', sa.String(length=36), nullable=False),
    sa.ForeignKeyConstraint(['division_id'], ['divisions.id'], name=op.f('fk_user_grants_division_id_divisions')),
    sa.ForeignKeyConstraint(['role_id'], ['roles.id'], name=op.f('fk_user_grants_role_id_roles')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_user_grants_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', 'role_id', 'division_id', name=op.f('pk_user_grants'))
    )



def downgrade() -> None:

    op.drop_table('user_grants')
    with op.batch_alter_table('client_secrets', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_client_secrets_client_id'))

    op.drop_table('client_secrets')
    op.drop_table('client_role_divisions')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_index('ux_users_org_email')

    op.drop_table('users')
    op.drop_table('scopes')
    with op.batch_alter_table('roles', schema=None) as batch_op:
        batch_op.drop_index('ux_roles_org_name')

    op.drop_table('roles')
    with op.batch_alter_table('divisions', schema=None) as batch_op:
        batch_op.drop_index('ux_divisions_org_name')

    op.drop_table('divisions')
    with op.batch_alter_table('clients', schema=None) as batch_op:
        batch_op.drop_index('ix_clients_org_name')

    op.drop_table('clients')
    op.drop_table('audit_head')
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_events_timestamp'))
        batch_op.drop_index(batch_op.f('ix_audit_events_entity_id'))
        batch_op.drop_index(batch_op.f('ix_audit_events_action'))

    op.drop_table('audit_events')
    with op.batch_alter_table('tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tokens_expires_at'))
        batch_op.drop_index('ix_tokens_client_issued')

    op.drop_table('tokens')
    op.drop_table('signing_keys')
    op.drop_table('organizations')

