#!/usr/bin/env bash
# Prepares a Debian machine for the end-to-end tests in test/e2e (run as root, from anywhere):
#   - Debian packages: chromium + fonts (headless browser for code-server), neovim (LSP client),
#     ripgrep and libkrb5-dev (code-server's native modules), redis-server (the Redis store's
#     tests start their own on a free loopback port)
#   - code-server 4.100.3 from npm into $ARMOR_CODE_SERVER_DIR (default ~/.cache/armor-e2e/code-server)
#   - builds runtime, compiler, language server and extension, and packages the .vsix
# Idempotent: what is already installed is skipped, so a second run takes only the build (~15 s).
# Then: ARMOR_E2E=1 npx vitest run test/e2e   (ARMOR_E2E=1 makes a missing tool a failure)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CS_DIR=${ARMOR_CODE_SERVER_DIR:-$HOME/.cache/armor-e2e/code-server}
PACKAGES=(chromium fonts-liberation neovim ripgrep libkrb5-dev redis-server)
log() { printf '[e2e setup] %s\n' "$*"; }

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  log "installing Debian packages: ${missing[*]}"
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { log "not root and no sudo: install ${missing[*]} first"; exit 1; }
    SUDO=sudo
  fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${PACKAGES[@]}" >/dev/null
else
  log "Debian packages present: ${PACKAGES[*]}"
fi

if "$CS_DIR/node_modules/.bin/code-server" --version >/dev/null 2>&1; then
  log "code-server present in $CS_DIR: $("$CS_DIR/node_modules/.bin/code-server" --version | head -1)"
else
  log "installing code-server into $CS_DIR (about a minute)"
  bash "$ROOT/test/e2e/install-code-server.sh" "$CS_DIR"
fi

cd "$ROOT"
if [ "${ARMOR_E2E_SKIP_BUILD:-}" != "1" ]; then
  log "building the contract, runtime, compiler, analysis, language server and extension"
  for w in @agent-armor/contract @agent-armor/runtime @agent-armor/compiler @agent-armor/analysis @agent-armor/lsp agent-armor; do
    npm run build --silent -w "$w" >/dev/null
  done
  log "packaging the extension"
  npm run package --silent -w agent-armor >/dev/null
fi
log "ready: $(ls -1 packages/vscode-extension/agent-armor.vsix), nvim $(nvim --version | head -1 | cut -d' ' -f2), $(chromium --version 2>/dev/null | head -1)"
