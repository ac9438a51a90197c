"""Where the emoji pipeline keeps its data and checkpoints: outside the repository, in
$EMOJI_WORK (default ~/.cache/halton-maskgit/emoji); checkpoints and logs in $EMOJI_RUNS
(default $EMOJI_WORK/runs), so a trial run can train beside the real one on the same data.
Kept free of torch so data.py runs without it."""

import os

WORK = os.path.abspath(os.path.expanduser(os.environ.get("EMOJI_WORK") or "~/.cache/halton-maskgit/emoji"))
RUNS = os.path.abspath(os.path.expanduser(os.environ.get("EMOJI_RUNS") or os.path.join(WORK, "runs")))
