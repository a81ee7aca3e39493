"""The generators as a sovtrain data plugin: every corpus of `CORPORA` and every SFT kit of
`instructions.KITS`, registered with the trainer's generator registry.

The trainer never imports this package directly; `sovtrain.core.generators` imports this module
by name the first time a recipe or command needs generated data, and calls `register`.
"""

from __future__ import annotations

from functools import partial

from sovtrain.core.generators import ChatKit, Corpus, Registry
from sovtrain_synth import CORPORA, GENERATOR_VERSION, generate
from sovtrain_synth.instructions import KITS, generate_sft


def register(registry: Registry) -> None:
    registry.add_version("sovtrain_synth", GENERATOR_VERSION)
    for name, spec in CORPORA.items():
        registry.add_corpus(Corpus(name, spec.domain, spec.languages, partial(generate, name)))
    for domain in KITS:
        registry.add_chat_kit(ChatKit(domain, partial(generate_sft, domain)))
