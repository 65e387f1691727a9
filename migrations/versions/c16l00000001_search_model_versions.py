"""search_model_versions: the search encoders the forum learned from its own threads, one active

Revision ID: c16l00000001
Revises: c16m00000001
Create Date: 2026-12-08 01:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c16l00000001'
down_revision = 'c16m00000001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'search_model_versions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=12), nullable=False),
        sa.Column('space', sa.String(length=120), nullable=True),
        sa.Column('pairs', sa.Integer(), nullable=False),
        sa.Column('held_out', sa.Integer(), nullable=False),
        sa.Column('figures', sa.Text(), nullable=False),
        sa.Column('note', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('activated_at', sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('search_model_versions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_search_model_versions_status'), ['status'],
                              unique=False)


def downgrade():
    with op.batch_alter_table('search_model_versions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_search_model_versions_status'))
    op.drop_table('search_model_versions')
