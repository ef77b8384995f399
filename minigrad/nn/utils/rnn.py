"""`minigrad.nn.utils.rnn`: batching sequences of different lengths, as in
`torch.nn.utils.rnn`.

minigrad has no `PackedSequence`. A batch of sequences is padded to the longest one
(`pad_sequence`) and run as one tensor; for a one-directional RNN, each sequence's final
state is its output at its own last step:

    padded = pad_sequence(sequences, batch_first=True)          # (batch, longest, ...)
    output, _ = rnn(padded)
    lengths = minigrad.tensor([len(s) for s in sequences])
    last = output[minigrad.arange(len(sequences)), lengths - 1]  # (batch, hidden)

The packing functions exist so that PyTorch code fails with that advice instead of
somewhere less clear.
"""
from ... import creation
from ...tensor import Tensor, cat, stack

__all__ = ["pad_sequence", "pack_padded_sequence", "pack_sequence", "pad_packed_sequence",
           "unpad_sequence"]


def pad_sequence(sequences, batch_first=False, padding_value=0.0, padding_side="right"):
    """Stack tensors of shape (L_i, *) into (longest, batch, *), or (batch, longest, *)
    with `batch_first=True`, filling the missing steps with `padding_value` on the
    `padding_side` ("right" or "left"). Gradients flow back into each sequence."""
    if padding_side not in ("right", "left"):
        raise RuntimeError(f"Expected padding_side to be one of left or right, but got "
                         f"{padding_side}.")
    if isinstance(sequences, Tensor):
        sequences = list(sequences.unbind(0))
    sequences = list(sequences)
    if not sequences:
        raise RuntimeError("received an empty list of sequences")
    trailing = tuple(sequences[0].shape[1:])
    for s in sequences:
        if s.dim() == 0 or tuple(s.shape[1:]) != trailing:
            raise RuntimeError(f"pad_sequence: every sequence must have shape (L, "
                               f"{', '.join(map(str, trailing)) or ''}...); got "
                               f"{tuple(s.shape)}")
    longest = max(s.shape[0] for s in sequences)
    rows = []
    for s in sequences:
        missing = longest - s.shape[0]
        if missing:
            fill = creation.full((missing, *trailing), padding_value, dtype=s.dtype,
                                 device=s.device)
            s = cat([s, fill] if padding_side == "right" else [fill, s], 0)
        rows.append(s)
    return stack(rows, 0 if batch_first else 1)


def unpad_sequence(padded_sequences, lengths, batch_first=False):
    """The inverse of `pad_sequence` (right padding): a list of the sequences, each cut
    to its length."""
    padded = padded_sequences if batch_first else padded_sequences.transpose(0, 1)
    lengths = lengths.tolist() if isinstance(lengths, Tensor) else list(lengths)
    return [padded[i, :int(n)] for i, n in enumerate(lengths)]


def _no_packing(name):
    def refuse(*args, **kwargs):
        raise NotImplementedError(
            f"{name}: minigrad has no PackedSequence. Pad the batch instead "
            "(nn.utils.rnn.pad_sequence), run the RNN on the padded tensor, and take each "
            "sequence's output at its last real step: output[arange(batch), lengths - 1] "
            "(with batch_first=True) is the final hidden state of a one-directional RNN.")
    refuse.__name__ = refuse.__qualname__ = name
    refuse.__doc__ = "Not supported: raises NotImplementedError saying what to do instead."
    return refuse


pack_padded_sequence = _no_packing("pack_padded_sequence")
pack_sequence = _no_packing("pack_sequence")
pad_packed_sequence = _no_packing("pad_packed_sequence")
