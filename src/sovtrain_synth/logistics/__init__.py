"""Logistics documents: bills of lading, customs declarations, air cargo, cross-boundary
trucking, port and vessel operations, freight rate bulletins, warehouse telemetry notes and
shipment exception reports and shift handover logs."""

from __future__ import annotations

from sovtrain_synth.logistics import handover, portops, shipping, transport, warehouse

KINDS = {
    **shipping.KINDS,
    **transport.KINDS,
    **portops.KINDS,
    **warehouse.KINDS,
    **handover.KINDS,
}
