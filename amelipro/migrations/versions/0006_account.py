"""account: profile (e-mail, sign-up and lock state, second factor), e-mail links, recovery
codes, practice details with history, bank accounts; the account each virement was paid to
(tp_virement.bank_account_id) and statement lines credited to another account
(tp_statement_line.other_account)

Revision ID: 0006
Revises: 0001, 0004
Create Date: 2026-11-30 10:00:00
"""
import sqlalchemy as sa
from alembic import op

import amelipro.db

revision = '0006'
down_revision = ('0001', '0004')
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('account_profile',
    sa.Column('professional_id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('status', sa.Enum('en_attente', 'actif', 'refuse', 'verrouille', name='accountstatus', native_enum=False, length=16), nullable=False),
    sa.Column('signed_up_at', amelipro.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('email_confirmed_at', amelipro.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('approved_at', amelipro.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('decided_by', sa.String(length=64), nullable=False),
    sa.Column('refusal_reason', sa.String(length=500), nullable=False),
    sa.Column('locked_at', amelipro.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('lock_reason', sa.String(length=500), nullable=False),
    sa.Column('password_changed_at', amelipro.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('totp_secret', sa.String(length=64), nullable=True),
    sa.Column('totp_enrolled_at', amelipro.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('totp_last_step', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['professional_id'], ['professional.id'], name=op.f('fk_account_profile_professional_id_professional')),
    sa.PrimaryKeyConstraint('professional_id', name=op.f('pk_account_profile'))
    )
    op.create_index(op.f('ix_account_profile_email'), 'account_profile', ['email'], unique=False)
    op.create_table('account_link',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('professional_id', sa.Integer(), nullable=False),
    sa.Column('purpose', sa.Enum('confirmation', 'reinitialisation', 'changement_email', name='linkpurpose', native_enum=False, length=20), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('new_email', sa.String(length=254), nullable=False),
    sa.Column('created_at', amelipro.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', amelipro.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('used_at', amelipro.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['professional_id'], ['professional.id'], name=op.f('fk_account_link_professional_id_professional')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_account_link')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_account_link_token_hash'))
    )
    op.create_index(op.f('ix_account_link_professional_id'), 'account_link', ['professional_id'], unique=False)
    op.create_table('account_recovery_code',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('professional_id', sa.Integer(), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', amelipro.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('used_at', amelipro.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['professional_id'], ['professional.id'], name=op.f('fk_account_recovery_code_professional_id_professional')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_account_recovery_code'))
    )
    op.create_index(op.f('ix_account_recovery_code_professional_id'), 'account_recovery_code', ['professional_id'], unique=False)
    op.create_table('account_practice',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('professional_id', sa.Integer(), nullable=False),
    sa.Column('practice_name', sa.String(length=200), nullable=False),
    sa.Column('address', sa.String(length=300), nullable=False),
    sa.Column('postcode', sa.String(length=5), nullable=False),
    sa.Column('city', sa.String(length=100), nullable=False),
    sa.Column('phone', sa.String(length=20), nullable=False),
    sa.Column('changed_at', amelipro.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('changed_by', sa.String(length=64), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['professional_id'], ['professional.id'], name=op.f('fk_account_practice_professional_id_professional')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_account_practice'))
    )
    op.create_index(op.f('ix_account_practice_professional_id'), 'account_practice', ['professional_id'], unique=False)
    op.create_table('account_bank',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('professional_id', sa.Integer(), nullable=False),
    sa.Column('holder', sa.String(length=70), nullable=False),
    sa.Column('iban', sa.String(length=34), nullable=False),
    sa.Column('bic', sa.String(length=11), nullable=False),
    sa.Column('status', sa.Enum('demande', 'annule', name='bankaccountstatus', native_enum=False, length=16), nullable=False),
    sa.Column('requested_at', amelipro.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('requested_by', sa.String(length=64), nullable=False),
    sa.Column('effective_on', sa.Date(), nullable=False),
    sa.Column('cancelled_at', amelipro.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['professional_id'], ['professional.id'], name=op.f('fk_account_bank_professional_id_professional')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_account_bank'))
    )
    op.create_index(op.f('ix_account_bank_professional_id'), 'account_bank', ['professional_id'], unique=False)
    # Plain ADD COLUMN on both databases (no table rebuild on SQLite: tp_virement is referenced).
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE tp_virement ADD COLUMN bank_account_id INTEGER CONSTRAINT "
                   "fk_tp_virement_bank_account_id_account_bank REFERENCES account_bank (id)")
    else:
        op.add_column('tp_virement', sa.Column('bank_account_id', sa.Integer(), nullable=True))
        op.create_foreign_key('fk_tp_virement_bank_account_id_account_bank', 'tp_virement',
                              'account_bank', ['bank_account_id'], ['id'])
    op.add_column('tp_statement_line', sa.Column('other_account', sa.Boolean(), nullable=False,
                                                 server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table('tp_statement_line', schema=None) as batch_op:
        batch_op.drop_column('other_account')
    with op.batch_alter_table('tp_virement', schema=None) as batch_op:
        batch_op.drop_column('bank_account_id')
    for table in ('account_bank', 'account_practice', 'account_recovery_code', 'account_link',
                  'account_profile'):
        op.drop_table(table)
