"""Finance documents: market reports, results announcements, fund and FX commentary, trade
finance, compliance notices, bond issues, credit memos and committee minutes."""

from __future__ import annotations

from sovtrain_synth.finance import banking, filings, lending, markets, minutes, money

KINDS = {
    **markets.KINDS,
    **filings.KINDS,
    **money.KINDS,
    **banking.KINDS,
    **lending.KINDS,
    **minutes.KINDS,
}
