"""The corpus is big enough: at least 500 malformed inputs over the four families."""

from __future__ import annotations

from tests.corpus import cards, configs, label_maps, repos

MINIMUM = {"cards": 200, "configs": 100, "label maps": 100, "repos": 100}


def test_corpus_has_at_least_500_cases() -> None:
    counts = {
        "cards": len(cards.generate()),
        "configs": len(configs.generate()),
        "label maps": len(label_maps.generate()),
        "repos": len(repos.generate("---\nlicense: mit\n---\n")),
    }
    print(f"\ncorpus: {counts}, total {sum(counts.values())}")
    assert all(counts[family] >= n for family, n in MINIMUM.items()), counts
    assert sum(counts.values()) >= 500


def test_generators_are_deterministic() -> None:
    assert cards.generate() == cards.generate()
    assert configs.generate() == configs.generate()
    assert label_maps.generate() == label_maps.generate()
