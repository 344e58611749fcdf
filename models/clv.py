"""Predictive customer lifetime value: a tenant's model fits and each customer's predictions.

A fit row is written when a fit starts (status `running`) and finished once, with its status,
parameters, holdout quality and timings; its predictions are written in the same transaction
that finishes it, so a fit killed midway leaves nothing half-written and the previous fit stays
the one the API answers with (docs/metrics.md, "Predictive CLV").
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, Float, ForeignKey, Index, Integer, Numeric, String, Text
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base

# Predicted money is an estimate, kept to the cent in shop money.
PredictedMoney = Numeric(20, 2)

FIT_STATUSES = ("running", "complete", "insufficient_history", "abandoned")


class ClvFit(Base):
    """One fit of the BG/NBD and Gamma-Gamma models to a tenant's purchase history."""

    __tablename__ = "clv_fits"

    tenant_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    status: Mapped[str] = mapped_column(String(32))
    message: Mapped[str | None] = mapped_column(Text)
    job_id: Mapped[str | None] = mapped_column(String(64))
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    # The data cutoff: purchases up to and including this local day of the shop.
    as_of: Mapped[date]
    timezone: Mapped[str] = mapped_column(String(64))
    currency: Mapped[str | None] = mapped_column(String(8))
    customers: Mapped[int | None] = mapped_column(Integer)
    repeat_customers: Mapped[int | None] = mapped_column(Integer)
    history_days: Mapped[int | None] = mapped_column(Integer)
    parameters: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    quality: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    distribution: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    timings: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    library: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (Index(None, "tenant_id", "finished_at"),)


class ClvPrediction(Base):
    """One customer's inputs and predictions under one complete fit."""

    __tablename__ = "clv_predictions"

    tenant_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    fit_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    customer_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    frequency: Mapped[int] = mapped_column(Integer)
    recency_days: Mapped[int] = mapped_column(Integer)
    age_days: Mapped[int] = mapped_column(Integer)
    monetary_value: Mapped[Decimal | None] = mapped_column(PredictedMoney)
    probability_alive: Mapped[float] = mapped_column(Float)
    purchases_3m: Mapped[float] = mapped_column(Float)
    purchases_6m: Mapped[float] = mapped_column(Float)
    purchases_12m: Mapped[float] = mapped_column(Float)
    expected_order_value: Mapped[Decimal] = mapped_column(PredictedMoney)
    value_3m: Mapped[Decimal] = mapped_column(PredictedMoney)
    value_6m: Mapped[Decimal] = mapped_column(PredictedMoney)
    value_12m: Mapped[Decimal] = mapped_column(PredictedMoney)

    __table_args__ = (
        Index(None, "tenant_id", "fit_id", "value_12m", "customer_id"),
        Index(None, "tenant_id", "fit_id", "probability_alive", "customer_id"),
        Index(None, "tenant_id", "fit_id", "purchases_12m", "customer_id"),
    )
