#!/usr/bin/env bash
# Headless Neovim end-to-end test of the Quill plugin (editors/nvim/tests/e2e.lua).
#   QUILL_CMD          JSON list that starts the server (default: ["quill", "serve"])
#   QUILL_NVIM_DEBUG=1 keep Neovim's LSP log at debug level (printed when a check fails)
# Neovim's state, cache and log go to a temporary folder, removed afterwards.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
export QUILL_PLUGIN_DIR="$(dirname "$here")"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
export XDG_CONFIG_HOME="$tmp/config" XDG_DATA_HOME="$tmp/data" XDG_STATE_HOME="$tmp/state" XDG_CACHE_HOME="$tmp/cache"
export TMPDIR="$tmp"
timeout "${QUILL_NVIM_TIMEOUT:-170}" nvim --headless -u NONE -i NONE -n -c "luafile $here/e2e.lua" </dev/null
