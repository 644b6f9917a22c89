"""IntraMASK / InterMASK tables, their token-level expansion and the bias converter."""

import pytest
import torch

from core_model.model.masks import GROUP_NAMES, build_keep, group_keep, keep_to_bias, token_groups

# The two tables as Semi-IIN defines them (rows = queries, columns = keys,
# 1 = may attend), written out cell by cell.
INTRA_EXPECTED = {
    "val": {"val": 0, "cls": 0, "audio": 1, "text": 1, "visual": 1},
    "cls": {"val": 0, "cls": 0, "audio": 1, "text": 1, "visual": 1},
    "audio": {"val": 1, "cls": 1, "audio": 1, "text": 0, "visual": 0},
    "text": {"val": 1, "cls": 1, "audio": 0, "text": 1, "visual": 0},
    "visual": {"val": 1, "cls": 1, "audio": 0, "text": 0, "visual": 1},
}
INTER_EXPECTED = {
    "val": {"val": 0, "cls": 0, "audio": 1, "text": 1, "visual": 1},
    "cls": {"val": 0, "cls": 0, "audio": 1, "text": 1, "visual": 1},
    "audio": {"val": 1, "cls": 1, "audio": 0, "text": 1, "visual": 1},
    "text": {"val": 1, "cls": 1, "audio": 1, "text": 0, "visual": 1},
    "visual": {"val": 1, "cls": 1, "audio": 1, "text": 1, "visual": 0},
}
COUNTS = {"audio": 3, "text": 2, "visual": 2}


def group_of_token(counts):
    names = ["val", "cls"]
    for modality in ("audio", "text", "visual"):
        names += [modality] * counts[modality]
    return names


@pytest.mark.parametrize("kind, expected", [("intra", INTRA_EXPECTED), ("inter", INTER_EXPECTED)])
def test_mask_table_cells(kind, expected):
    groups = torch.arange(len(GROUP_NAMES))
    keep = group_keep(kind, groups)
    for i, query in enumerate(GROUP_NAMES):
        for j, key in enumerate(GROUP_NAMES):
            assert int(keep[i, j]) == expected[query][key], f"{kind} mask cell ({query}, {key})"


@pytest.mark.parametrize("kind, expected", [("intra", INTRA_EXPECTED), ("inter", INTER_EXPECTED)])
def test_mask_token_cells(kind, expected):
    names = group_of_token(COUNTS)
    keep = group_keep(kind, token_groups(COUNTS))
    assert keep.shape == (len(names), len(names))
    for i, query in enumerate(names):
        for j, key in enumerate(names):
            assert int(keep[i, j]) == expected[query][key], f"{kind} token cell ({i} {query}, {j} {key})"


def test_inter_mask_blocks_own_modality():
    keep = group_keep("inter", token_groups(COUNTS))
    names = group_of_token(COUNTS)
    for i, query in enumerate(names):
        if query in ("val", "cls"):
            continue
        same = [j for j, key in enumerate(names) if key == query]
        assert not keep[i, same].any(), f"inter token {i} ({query}) sees its own modality"


def test_key_padding_masks_columns():
    lengths = {"audio": torch.tensor([3, 1]), "text": torch.tensor([0, 2]), "visual": torch.tensor([2, 2])}
    keep = build_keep(("intra", "inter"), COUNTS, lengths)
    assert keep.shape == (2, 2, 1, 9, 9)
    names = group_of_token(COUNTS)
    # Sample 0 has no text, sample 1 one real audio token of three.
    text_columns = [j for j, n in enumerate(names) if n == "text"]
    assert not keep[:, 0, 0, :, text_columns].any()
    assert not keep[:, 1, 0, :, 3:5].any()
    assert keep[1, 1, 0, 0, 2], "val must still see the real audio token of sample 1"


def test_no_query_row_is_empty():
    lengths = {"audio": torch.tensor([0]), "text": torch.tensor([0]), "visual": torch.tensor([1])}
    keep = build_keep(("intra", "inter", "global"), COUNTS, lengths)
    assert keep.any(dim=-1).all(), "a query row without keys would make softmax return NaN"


def test_empty_row_falls_back_to_self():
    # Only a padded visual token: every modality is masked for val and cls.
    lengths = {"audio": torch.tensor([0]), "text": torch.tensor([0]), "visual": torch.tensor([0])}
    keep = build_keep(("intra",), COUNTS, lengths)
    row_val = keep[0, 0, 0, 0]
    assert row_val.tolist() == [True] + [False] * 8


def test_keep_to_bias_values():
    keep = torch.tensor([[True, False], [False, True]])
    bias = keep_to_bias(keep)
    assert bias.dtype == torch.float32
    assert bias[0, 0] == 0.0
    assert bias[1, 1] == 0.0
    assert bias[0, 1] == float("-inf")
    assert bias[1, 0] == float("-inf")
