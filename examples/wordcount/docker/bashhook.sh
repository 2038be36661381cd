# Sourced by bash at the start of every job and every `rp enter` shell.
# Exports made here are visible to your scripts, e.g.
# export PYTHONPATH="$PWD:$PYTHONPATH"
# export HF_HOME="$PWD/.cache/huggingface"
