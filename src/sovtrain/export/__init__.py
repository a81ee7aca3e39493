"""Export trained checkpoints as Hugging Face model directories, with a generated model card.

`export_hf` consolidates a DeepSpeed checkpoint offline (no engine, no GPU), writes
safetensors (bf16 or fp32, sharded with an index above `max_shard_size`) + tokenizer +
generation config + README.md, and uploads through
`sovtrain.storage` so residency guards see the destination and the data lineage.
"""

from sovtrain.export.hf import ExportResult, export_hf
from sovtrain.export.model_card import render_model_card

__all__ = ["ExportResult", "export_hf", "render_model_card"]
