"""SQLAlchemy 2 typed models: the engine's tables in PostgreSQL.

Design notes:
- Org units are keyed by the 12-digit statistical division code. A unit's parent is derived from
  its code (truncate and zero-fill), so a subtree is a code prefix: ``code LIKE '390121%'`` on an
  index with ``varchar_pattern_ops``. Every table that belongs to a unit stores that code, so scope
  filters never need a join.
- Definitions are data: every submission and process instance points at the exact definition
  version (row id) it ran on; published rows are immutable (content hash).
- Workflow state lives in JSONB without the spec (stored once per process version), content-addressed
  (``workflow_states``: one row per distinct state, shared by the instances in it); READY human
  tasks are denormalised into ``workflow_tasks`` so inbox queries never deserialise workflows.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import JSON, JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

# The largest key a bigint column holds (the integer ones hold less): a larger number names no row, and
# must be answered as such (404, or 400 in a body) before it reaches PostgreSQL as an overflow.
MAX_ID = 2**63 - 1


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSONB, list[Any]: JSONB}


def _now() -> Any:
    return func.now()


class OrgUnit(Base):
    __tablename__ = "org_units"

    code: Mapped[str] = mapped_column(String(12), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    level: Mapped[int] = mapped_column(SmallInteger)  # engine.roles.Level
    parent_code: Mapped[str | None] = mapped_column(ForeignKey("org_units.code"), index=True)
    urban_rural_class: Mapped[str | None] = mapped_column(String(3))
    # Closing or merging a unit sets valid_to (and replaced_by); history stays attached to the old code.
    valid_from: Mapped[dt.date | None] = mapped_column(Date)  # None: valid since before records began
    valid_to: Mapped[dt.date | None] = mapped_column(Date)
    replaced_by: Mapped[str | None] = mapped_column(ForeignKey("org_units.code"))

    __table_args__ = (
        Index("ix_org_units_code_prefix", "code", postgresql_ops={"code": "varchar_pattern_ops"}),
        Index("ix_org_units_level", "level"),
    )


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=_now())

    roles: Mapped[list[RoleAssignment]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin"
    )


class RoleAssignment(Base):
    __tablename__ = "role_assignments"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(32))  # engine.roles.ROLES key
    org_code: Mapped[str] = mapped_column(ForeignKey("org_units.code"))

    user: Mapped[User] = relationship(back_populates="roles")

    __table_args__ = (
        UniqueConstraint("user_id", "role", "org_code"),
        Index("ix_role_assignments_role_org", "role", "org_code"),
    )


class ApiToken(Base):
    """Bearer tokens for department systems; only a SHA-256 of the token is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=_now())
    last_used_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))  # refused from then on (401)


class UserSession(Base):
    """A browser's sign-in (engine.login_sessions): the signed cookie names it, and it is valid while its
    row is here. Logout deletes the row, a password change or deactivation all of the user's rows."""

    __tablename__ = "user_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # SHA-256 of the cookie's random id
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=_now(), index=True)


class LoginFailures(Base):
    """Failed sign-ins counted per username and per network address (engine.login_throttle)."""

    __tablename__ = "login_failures"

    kind: Mapped[str] = mapped_column(String(16), primary_key=True)  # engine.login_throttle.LIMITS key
    subject: Mapped[str] = mapped_column(String(64), primary_key=True)  # the username, or the address
    failures: Mapped[int] = mapped_column(Integer)
    since: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)  # the window's start


class DefinitionVersionColumns:
    """What every stored definition version has: identity, status, hash, provenance, publication."""

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default="draft")  # draft | published | retired
    content_hash: Mapped[str] = mapped_column(String(64))
    source: Mapped[str | None] = mapped_column(String(300))
    change_note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=_now())
    published_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    published_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class IndicatorSetVersion(DefinitionVersionColumns, Base):
    """One version of an indicator set. Drafts are editable; published rows never change."""

    __tablename__ = "indicator_set_versions"

    # json, not jsonb: jsonb re-sorts object keys, and a definition's key order IS its field and
    # section order. Nothing queries inside it; the hash is taken over canonical (sorted) JSON.
    content: Mapped[dict[str, Any]] = mapped_column(JSON)

    __table_args__ = (UniqueConstraint("code", "version"),)


class ProcessVersion(DefinitionVersionColumns, Base):
    """One version of a BPMN approval flow, stored once per content hash."""

    __tablename__ = "process_versions"

    bpmn: Mapped[str] = mapped_column(Text)
    # The serialized SpiffWorkflow spec, spliced back into instance state on load (pitfall 5).
    spec: Mapped[dict[str, Any] | None] = mapped_column(JSONB)

    __table_args__ = (UniqueConstraint("code", "version"),)


class Collection(Base):
    """A campaign: one indicator-set version, one process version, one period, one scope."""

    __tablename__ = "collections"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    indicator_set_version_id: Mapped[int] = mapped_column(ForeignKey("indicator_set_versions.id"))
    process_version_id: Mapped[int] = mapped_column(ForeignKey("process_versions.id"))
    period: Mapped[str] = mapped_column(String(16))  # "2025", "2025Q3", "2025-10"
    scope_org_code: Mapped[str] = mapped_column(ForeignKey("org_units.code"))
    reporting_level: Mapped[int] = mapped_column(SmallInteger)
    opens_on: Mapped[dt.date] = mapped_column(Date)
    deadline: Mapped[dt.date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | closed
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=_now())

    # loaded on access only: the rows carry a definition's whole content (and BPMN and spec), which
    # most readers of a collection (status checks, headers) never need
    indicator_set_version: Mapped[IndicatorSetVersion] = relationship(lazy="select")
    process_version: Mapped[ProcessVersion] = relationship(lazy="select")

    __table_args__ = (
        UniqueConstraint("indicator_set_version_id", "period", "scope_org_code", name="uq_collection_scope"),
    )


class Submission(Base):
    """One report of one org unit in one collection, pinned to the indicator-set version."""

    __tablename__ = "submissions"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    collection_id: Mapped[int] = mapped_column(ForeignKey("collections.id"))
    org_code: Mapped[str] = mapped_column(ForeignKey("org_units.code"))
    indicator_set_version_id: Mapped[int] = mapped_column(ForeignKey("indicator_set_versions.id"))
    # not_started | draft | submitted | returned | approved (at approved_level) | final
    status: Mapped[str] = mapped_column(String(16), default="not_started")
    approved_level: Mapped[int | None] = mapped_column(SmallInteger)  # highest level that approved
    # stored uncompressed, out of line (migration 0005: pglz was the largest part of PostgreSQL's work on a
    # submit, and the row approvals rewrite and completeness counts scan stays small)
    data: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    explanations: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)  # soft rule id -> text
    revision: Mapped[int] = mapped_column(Integer, default=0)
    submitted_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=_now())
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    __table_args__ = (
        UniqueConstraint("collection_id", "org_code"),
        Index(
            "ix_submissions_collection_org_prefix",
            "collection_id",
            "org_code",
            postgresql_ops={"org_code": "varchar_pattern_ops"},
        ),
        Index("ix_submissions_collection_status", "collection_id", "status"),
    )


class SubmissionRevision(Base):
    """Every save is an immutable revision (who, when, data)."""

    __tablename__ = "submission_revisions"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id", ondelete="CASCADE"))
    revision: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))  # prefill | draft | submit
    data: Mapped[dict[str, Any]] = mapped_column(JSONB)  # uncompressed, inline (migration 0005)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=_now())

    __table_args__ = (UniqueConstraint("submission_id", "revision"),)


class WorkflowState(Base):
    """A serialized SpiffWorkflow state (without the spec), stored once however many instances are in it.

    Content-addressed: ``digest`` is the BLAKE2b of its canonical JSON (engine/transitions.py), so a row
    never changes and every process may cache it. A step writes a new row only for a state not seen yet.
    """

    __tablename__ = "workflow_states"

    digest: Mapped[str] = mapped_column(String(32), primary_key=True)
    process_version_id: Mapped[int] = mapped_column(ForeignKey("process_versions.id"))
    state: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=_now())


class ProcessInstance(Base):
    """SpiffWorkflow state of one submission's approval flow, without the embedded spec."""

    __tablename__ = "process_instances"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id", ondelete="CASCADE"), unique=True)
    process_version_id: Mapped[int] = mapped_column(ForeignKey("process_versions.id"))
    collection_id: Mapped[int] = mapped_column(ForeignKey("collections.id"), index=True)
    # The instance's current workflow state, by content (workflow_states): a collection's instances
    # start in one shared state and mostly move through the same few.
    state_digest: Mapped[str] = mapped_column(ForeignKey("workflow_states.digest"))
    serializer_version: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="running")  # running | completed
    next_timer_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=_now())

    __table_args__ = (
        Index(
            "ix_process_instances_next_timer",
            "next_timer_at",
            postgresql_where="next_timer_at IS NOT NULL",
        ),
    )


class WorkflowTask(Base):
    """A human task; READY rows are the inbox. Assigned to a role at one org unit."""

    __tablename__ = "workflow_tasks"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    # SpiffWorkflow's task id is unique only within one instance: instances of a collection start
    # from one cloned state, so the pair (instance_id, spiff_task_id) is the identity.
    spiff_task_id: Mapped[str] = mapped_column(String(36))
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instances.id", ondelete="CASCADE"))
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id", ondelete="CASCADE"))
    collection_id: Mapped[int] = mapped_column(ForeignKey("collections.id"))
    subject_org_code: Mapped[str] = mapped_column(String(12))  # the reporting unit (village)
    assignee_org_code: Mapped[str] = mapped_column(String(12))  # unit whose role holders may act
    role: Mapped[str] = mapped_column(String(32))
    lane: Mapped[str | None] = mapped_column(String(64))
    bpmn_id: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))  # entry | review
    state: Mapped[str] = mapped_column(String(16), default="ready")  # ready | completed | cancelled
    overdue: Mapped[bool] = mapped_column(Boolean, default=False)  # its deadline timer has fired
    due_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=_now())
    completed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    completed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decision: Mapped[str | None] = mapped_column(String(16))
    comment: Mapped[str | None] = mapped_column(Text)
    field_comments: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    revision: Mapped[int | None] = mapped_column(Integer)  # submission revision acted on

    __table_args__ = (
        Index(
            "ix_workflow_tasks_inbox",
            "role",
            "assignee_org_code",
            "due_at",
            postgresql_where="state = 'ready'",
        ),
        Index("ix_workflow_tasks_submission", "submission_id"),
        Index("ix_workflow_tasks_instance_spiff", "instance_id", "spiff_task_id"),
        Index(
            "ix_workflow_tasks_collection_ready",
            "collection_id",
            "subject_org_code",
            postgresql_where="state = 'ready'",
            postgresql_ops={"subject_org_code": "varchar_pattern_ops"},
        ),
    )


class AuditEntry(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=_now(), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(String(64))
    object_type: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[str] = mapped_column(String(64))
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)

    __table_args__ = (Index("ix_audit_object", "object_type", "object_id"),)


class RollupValue(Base):
    """Live roll-up: one row per (collection, stage, unit above the reporting level, field key).

    Updated incrementally in the approving transaction (engine.rollups), so reading a unit's figures is
    a primary-key range lookup and never touches the JSONB documents. ``sum``/``count`` are exact
    (numeric); ``min``/``max`` are kept only for fields whose x-aggregate is min/max.
    """

    __tablename__ = "rollup_values"

    collection_id: Mapped[int] = mapped_column(ForeignKey("collections.id", ondelete="CASCADE"), primary_key=True)
    stage: Mapped[str] = mapped_column(String(16), primary_key=True)  # engine.rollups.STAGES key
    org_code: Mapped[str] = mapped_column(String(12), primary_key=True)
    key: Mapped[str] = mapped_column(String(300), primary_key=True)
    sum: Mapped[Any] = mapped_column(Numeric, default=0)
    count: Mapped[int] = mapped_column(BigInteger, default=0)
    min: Mapped[Any | None] = mapped_column(Numeric)
    max: Mapped[Any | None] = mapped_column(Numeric)


class RollupMember(Base):
    """Which submissions' figures a roll-up stage currently includes (makes the listener idempotent)."""

    __tablename__ = "rollup_members"

    submission_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("submissions.id", ondelete="CASCADE"), primary_key=True
    )
    stage: Mapped[str] = mapped_column(String(16), primary_key=True)
    collection_id: Mapped[int] = mapped_column(ForeignKey("collections.id", ondelete="CASCADE"))
    org_code: Mapped[str] = mapped_column(String(12))
    revision: Mapped[int] = mapped_column(Integer)  # the submission revision whose figures were added

    __table_args__ = (
        Index(
            "ix_rollup_members_collection_org",
            "collection_id",
            "stage",
            "org_code",
            postgresql_ops={"org_code": "varchar_pattern_ops"},
        ),
    )
