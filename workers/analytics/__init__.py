"""Customer analytics: lifetime figures, RFM segments and cohorts recomputed per tenant."""
