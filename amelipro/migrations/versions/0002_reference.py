"""reference: medicines (BDPM), LPP, acts (CCAM, NGAP), EHPAD list, import runs, search

Revision ID: 0002
Revises: 0001

Generated from amelipro/reference/models.py (reference tables only) and checked by hand.
The full-text indexes (SQLite FTS5 table, PostgreSQL GIN index) are derived data: the
importer creates them when it rebuilds the search index, so both databases keep the same
schema here.
"""
import sqlalchemy as sa
from alembic import op

import amelipro.db

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('ref_act',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=13), nullable=False),
    sa.Column('kind', sa.String(length=4), nullable=False),
    sa.Column('label', sa.String(length=1000), nullable=False),
    sa.Column('grouping', sa.String(length=10), nullable=False),
    sa.Column('conditional', sa.Boolean(), nullable=False),
    sa.Column('prior_approval', sa.Boolean(), nullable=False),
    sa.Column('exemption', sa.String(length=10), nullable=False),
    sa.Column('not_covered', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ref_act')),
    sa.UniqueConstraint('code', name=op.f('uq_ref_act_code'))
    )
    op.create_table('ref_composition',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('cis', sa.String(length=8), nullable=False),
    sa.Column('element', sa.String(length=200), nullable=False),
    sa.Column('substance_code', sa.String(length=10), nullable=False),
    sa.Column('substance', sa.String(length=400), nullable=False),
    sa.Column('dosage', sa.String(length=200), nullable=False),
    sa.Column('dosage_reference', sa.String(length=200), nullable=False),
    sa.Column('nature', sa.String(length=4), nullable=False),
    sa.Column('link_no', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ref_composition'))
    )
    with op.batch_alter_table('ref_composition', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ref_composition_cis'), ['cis'], unique=False)

    op.create_table('ref_ehpad_category',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('part', sa.String(length=4), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('label', sa.String(length=400), nullable=False),
    sa.Column('condition', sa.String(length=200), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ref_ehpad_category')),
    sa.UniqueConstraint('label', name=op.f('uq_ref_ehpad_category_label'))
    )
    op.create_table('ref_generic_member',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('group_label', sa.String(length=400), nullable=False),
    sa.Column('cis', sa.String(length=8), nullable=False),
    sa.Column('generic_type', sa.Integer(), nullable=False),
    sa.Column('sort_no', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ref_generic_member')),
    sa.UniqueConstraint('group_id', 'cis', name=op.f('uq_ref_generic_member_group_id_cis'))
    )
    with op.batch_alter_table('ref_generic_member', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ref_generic_member_cis'), ['cis'], unique=False)
        batch_op.create_index(batch_op.f('ix_ref_generic_member_group_id'), ['group_id'], unique=False)

    op.create_table('ref_import_run',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('dataset', sa.String(length=20), nullable=False),
    sa.Column('release', sa.String(length=200), nullable=False),
    sa.Column('effective_date', sa.Date(), nullable=True),
    sa.Column('started_at', amelipro.db.UTCDateTime(), nullable=False),
    sa.Column('finished_at', amelipro.db.UTCDateTime(), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.Column('files', sa.Text(), nullable=False),
    sa.Column('created', sa.Integer(), nullable=False),
    sa.Column('changed', sa.Integer(), nullable=False),
    sa.Column('closed', sa.Integer(), nullable=False),
    sa.Column('unchanged', sa.Integer(), nullable=False),
    sa.Column('skipped', sa.Integer(), nullable=False),
    sa.Column('anomalies', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ref_import_run'))
    )
    with op.batch_alter_table('ref_import_run', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ref_import_run_dataset'), ['dataset'], unique=False)

    op.create_table('ref_lpp_code',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=7), nullable=False),
    sa.Column('label', sa.String(length=600), nullable=False),
    sa.Column('titre', sa.String(length=300), nullable=False),
    sa.Column('category', sa.String(length=200), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ref_lpp_code')),
    sa.UniqueConstraint('code', name=op.f('uq_ref_lpp_code_code'))
    )
    op.create_table('ref_medicine',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('cis', sa.String(length=8), nullable=False),
    sa.Column('name', sa.String(length=400), nullable=False),
    sa.Column('form', sa.String(length=200), nullable=False),
    sa.Column('routes', sa.String(length=200), nullable=False),
    sa.Column('amm_status', sa.String(length=100), nullable=False),
    sa.Column('procedure', sa.String(length=100), nullable=False),
    sa.Column('marketed', sa.String(length=60), nullable=False),
    sa.Column('amm_date', sa.Date(), nullable=True),
    sa.Column('bdm_status', sa.String(length=60), nullable=False),
    sa.Column('holder', sa.String(length=400), nullable=False),
    sa.Column('reinforced_monitoring', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ref_medicine')),
    sa.UniqueConstraint('cis', name=op.f('uq_ref_medicine_cis'))
    )
    op.create_table('ref_medicine_box',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('cip13', sa.String(length=13), nullable=False),
    sa.Column('cip7', sa.String(length=7), nullable=False),
    sa.Column('cis', sa.String(length=8), nullable=False),
    sa.Column('label', sa.String(length=400), nullable=False),
    sa.Column('status', sa.String(length=60), nullable=False),
    sa.Column('marketing_state', sa.String(length=100), nullable=False),
    sa.Column('declaration_date', sa.Date(), nullable=True),
    sa.Column('collectivities', sa.Boolean(), nullable=True),
    sa.Column('indications', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ref_medicine_box')),
    sa.UniqueConstraint('cip13', name=op.f('uq_ref_medicine_box_cip13'))
    )
    with op.batch_alter_table('ref_medicine_box', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ref_medicine_box_cip7'), ['cip7'], unique=False)
        batch_op.create_index(batch_op.f('ix_ref_medicine_box_cis'), ['cis'], unique=False)

    op.create_table('ref_search_entry',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('code', sa.String(length=13), nullable=False),
    sa.Column('label', sa.String(length=1000), nullable=False),
    sa.Column('detail', sa.String(length=600), nullable=False),
    sa.Column('search_text', sa.Text(), nullable=False),
    sa.Column('generic_group', sa.Integer(), nullable=True),
    sa.Column('ehpad_category_id', sa.Integer(), nullable=True),
    sa.Column('valid_from', sa.Date(), nullable=True),
    sa.Column('valid_to', sa.Date(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ref_search_entry'))
    )
    with op.batch_alter_table('ref_search_entry', schema=None) as batch_op:
        batch_op.create_index('ix_ref_search_entry_kind_code', ['kind', 'code'], unique=False)

    op.create_table('ref_act_tariff',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=13), nullable=False),
    sa.Column('tariff', sa.Numeric(precision=12, scale=2), nullable=True),
    sa.Column('tariff_other_sector', sa.Numeric(precision=12, scale=2), nullable=True),
    sa.Column('note', sa.String(length=400), nullable=False),
    sa.Column('stream', sa.String(length=20), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=True),
    sa.Column('valid_to', sa.Date(), nullable=True),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('closed_run_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['closed_run_id'], ['ref_import_run.id'], name=op.f('fk_ref_act_tariff_closed_run_id_ref_import_run')),
    sa.ForeignKeyConstraint(['run_id'], ['ref_import_run.id'], name=op.f('fk_ref_act_tariff_run_id_ref_import_run')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ref_act_tariff'))
    )
    with op.batch_alter_table('ref_act_tariff', schema=None) as batch_op:
        batch_op.create_index('ix_ref_act_tariff_code_from', ['code', 'valid_from'], unique=False)

    op.create_table('ref_ehpad_mapping',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('lpp_code', sa.String(length=7), nullable=False),
    sa.Column('category_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=400), nullable=False),
    sa.Column('origin', sa.String(length=10), nullable=False),
    sa.Column('created_at', amelipro.db.UTCDateTime(), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('removed_at', amelipro.db.UTCDateTime(), nullable=True),
    sa.Column('removed_by', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['category_id'], ['ref_ehpad_category.id'], name=op.f('fk_ref_ehpad_mapping_category_id_ref_ehpad_category')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ref_ehpad_mapping'))
    )
    with op.batch_alter_table('ref_ehpad_mapping', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ref_ehpad_mapping_category_id'), ['category_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_ref_ehpad_mapping_lpp_code'), ['lpp_code'], unique=False)

    op.create_table('ref_lpp_tariff',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=7), nullable=False),
    sa.Column('tariff', sa.Numeric(precision=12, scale=2), nullable=True),
    sa.Column('plv', sa.Numeric(precision=12, scale=2), nullable=True),
    sa.Column('max_quantity', sa.Integer(), nullable=True),
    sa.Column('unit', sa.String(length=40), nullable=False),
    sa.Column('stream', sa.String(length=20), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=True),
    sa.Column('valid_to', sa.Date(), nullable=True),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('closed_run_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['closed_run_id'], ['ref_import_run.id'], name=op.f('fk_ref_lpp_tariff_closed_run_id_ref_import_run')),
    sa.ForeignKeyConstraint(['run_id'], ['ref_import_run.id'], name=op.f('fk_ref_lpp_tariff_run_id_ref_import_run')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ref_lpp_tariff'))
    )
    with op.batch_alter_table('ref_lpp_tariff', schema=None) as batch_op:
        batch_op.create_index('ix_ref_lpp_tariff_code_from', ['code', 'valid_from'], unique=False)

    op.create_table('ref_medicine_price',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('cip13', sa.String(length=13), nullable=False),
    sa.Column('reimbursable', sa.Boolean(), nullable=False),
    sa.Column('rate_percent', sa.Integer(), nullable=True),
    sa.Column('price', sa.Numeric(precision=12, scale=2), nullable=True),
    sa.Column('price_with_fee', sa.Numeric(precision=12, scale=2), nullable=True),
    sa.Column('dispensing_fee', sa.Numeric(precision=12, scale=2), nullable=True),
    sa.Column('stream', sa.String(length=20), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=True),
    sa.Column('valid_to', sa.Date(), nullable=True),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('closed_run_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['closed_run_id'], ['ref_import_run.id'], name=op.f('fk_ref_medicine_price_closed_run_id_ref_import_run')),
    sa.ForeignKeyConstraint(['run_id'], ['ref_import_run.id'], name=op.f('fk_ref_medicine_price_run_id_ref_import_run')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ref_medicine_price'))
    )
    with op.batch_alter_table('ref_medicine_price', schema=None) as batch_op:
        batch_op.create_index('ix_ref_medicine_price_cip13_from', ['cip13', 'valid_from'], unique=False)

    op.create_table('ref_search_code',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=13), nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=False),
    sa.Column('priority', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['entry_id'], ['ref_search_entry.id'], name=op.f('fk_ref_search_code_entry_id_ref_search_entry'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ref_search_code'))
    )
    with op.batch_alter_table('ref_search_code', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ref_search_code_code'), ['code'], unique=False)
        batch_op.create_index(batch_op.f('ix_ref_search_code_entry_id'), ['entry_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('ref_search_code', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ref_search_code_entry_id'))
        batch_op.drop_index(batch_op.f('ix_ref_search_code_code'))

    op.drop_table('ref_search_code')
    with op.batch_alter_table('ref_medicine_price', schema=None) as batch_op:
        batch_op.drop_index('ix_ref_medicine_price_cip13_from')

    op.drop_table('ref_medicine_price')
    with op.batch_alter_table('ref_lpp_tariff', schema=None) as batch_op:
        batch_op.drop_index('ix_ref_lpp_tariff_code_from')

    op.drop_table('ref_lpp_tariff')
    with op.batch_alter_table('ref_ehpad_mapping', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ref_ehpad_mapping_lpp_code'))
        batch_op.drop_index(batch_op.f('ix_ref_ehpad_mapping_category_id'))

    op.drop_table('ref_ehpad_mapping')
    with op.batch_alter_table('ref_act_tariff', schema=None) as batch_op:
        batch_op.drop_index('ix_ref_act_tariff_code_from')

    op.drop_table('ref_act_tariff')
    with op.batch_alter_table('ref_search_entry', schema=None) as batch_op:
        batch_op.drop_index('ix_ref_search_entry_kind_code')

    op.drop_table('ref_search_entry')
    with op.batch_alter_table('ref_medicine_box', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ref_medicine_box_cis'))
        batch_op.drop_index(batch_op.f('ix_ref_medicine_box_cip7'))

    op.drop_table('ref_medicine_box')
    op.drop_table('ref_medicine')
    op.drop_table('ref_lpp_code')
    with op.batch_alter_table('ref_import_run', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ref_import_run_dataset'))

    op.drop_table('ref_import_run')
    with op.batch_alter_table('ref_generic_member', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ref_generic_member_group_id'))
        batch_op.drop_index(batch_op.f('ix_ref_generic_member_cis'))

    op.drop_table('ref_generic_member')
    op.drop_table('ref_ehpad_category')
    with op.batch_alter_table('ref_composition', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ref_composition_cis'))

    op.drop_table('ref_composition')
    op.drop_table('ref_act')
