"""Riff's own small text-to-video model: procedural training scenes and their evaluator.

`scenes` draws reproducible (clip, caption) pairs of coloured shapes moving over simple
backgrounds; `evaluator` checks a clip against the scene its caption describes. Both are
plain numpy and need neither Django nor torch.
"""
