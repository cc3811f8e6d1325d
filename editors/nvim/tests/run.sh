#!/usr/bin/env bash
# Headless Neovim end-to-end tests of the Quill plugin: run.sh [SCRIPT] (default e2e.lua; e2e_editor.lua
# checks :checkhealth, :help, :Quill, manual mode and trust).
#   QUILL_CMD          JSON list that starts the server (default: ["quill", "serve"])
#   QUILL_NVIM         the Neovim to run (default: nvim on PATH)
#   QUILL_NVIM_DEBUG=1 keep Neovim's LSP log at debug level (printed when a check fails)
# Neovim's state, cache and log go to a temporary folder, removed afterwards.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
script="$here/${1:-e2e.lua}"
export QUILL_PLUGIN_DIR="$(dirname "$here")"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
export XDG_CONFIG_HOME="$tmp/config" XDG_DATA_HOME="$tmp/data" XDG_STATE_HOME="$tmp/state" XDG_CACHE_HOME="$tmp/cache"
export TMPDIR="$tmp"
timeout "${QUILL_NVIM_TIMEOUT:-170}" "${QUILL_NVIM:-nvim}" --headless -u NONE -i NONE -n -c "luafile $script" </dev/null
