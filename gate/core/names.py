"""A resident's name as the gate's screen may show it: masked, so a passer-by reading the screen learns
no more than the resident already recognises as theirs (GB/T 35273 de-identification on display)."""

from __future__ import annotations


def mask_name(name: str) -> str:
    """Each word keeps its first and last character with one '*' between (张小明 -> 张*明, Anna Lee ->
    A*a L*e); a two-character word keeps its first (张明 -> 张*). One star whatever the length, so the
    mask does not tell how long the name is."""
    masked = []
    for word in name.split():
        if len(word) == 1:
            masked.append(word)
        elif len(word) == 2:
            masked.append(word[0] + "*")
        else:
            masked.append(word[0] + "*" + word[-1])
    return " ".join(masked)
