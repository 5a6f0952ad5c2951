#!/usr/bin/env bash
# Vendored from the team recipes (shared/recipes/install-code-server.sh); test/e2e/setup.sh calls it.
# Offline-safe install of code-server from the npm registry on Node 20 (Debian bookworm, root).
# Usage: install-code-server.sh DIR   (installs into DIR; prints the version at the end; about a minute)
# Why not plain `npm install code-server`:
#  - latest code-server (4.103+) wants Node 22/24; 4.100.3 is the newest that wants Node 20 (VS Code 1.100.3)
#  - its postinstall.sh refuses to run as root under npm unless npm_config_unsafe_perm=true
#  - lib/vscode pins @vscode/ripgrep 1.15.11, whose postinstall downloads rg from GitHub (no network here)
#    -> we install deps with --ignore-scripts, drop Debian's /usr/bin/rg into bin/, then `npm rebuild`
#  - kerberos needs libkrb5-dev headers (gssapi/gssapi.h)
#  - node-pty's post-install runs `npx node-gyp` and the machine npmrc has yes=false -> npm_config_yes=true
set -euo pipefail
DIR=${1:?usage: install-code-server.sh DIR}
mkdir -p "$DIR" && DIR=$(cd "$DIR" && pwd)
VER=${CODE_SERVER_VERSION:-4.100.3}
export DEBIAN_FRONTEND=noninteractive
command -v rg >/dev/null && dpkg -s libkrb5-dev >/dev/null 2>&1 || { apt-get update >/dev/null; apt-get install -y --no-install-recommends ripgrep libkrb5-dev >/dev/null; }
mkdir -p "$DIR" && cd "$DIR"
[ -f package.json ] || npm init -y >/dev/null
npm install "code-server@$VER" --ignore-scripts --no-audit --no-fund
npm rebuild argon2 --foreground-scripts >/dev/null            # builds from source (prebuilt download fails, falls back)
cd node_modules/code-server/lib/vscode
npm install --omit=dev --ignore-scripts --no-audit --no-fund
mkdir -p node_modules/@vscode/ripgrep/bin && cp /usr/bin/rg node_modules/@vscode/ripgrep/bin/rg
npm_config_yes=true npm rebuild --foreground-scripts >/dev/null   # parcel-watcher, spdlog, kerberos, node-pty, ...
ln -sfn node_modules node_modules.asar
(cd bin/remote-cli && ln -sfn code-linux.sh code-server)
(cd bin/helpers && ln -sfn browser-linux.sh browser.sh)
(cd extensions && npm install --omit=dev --no-audit --no-fund >/dev/null)
"$DIR/node_modules/.bin/code-server" --version
