#!/usr/bin/env node
// The Agent Armor language server over stdio: `armor-lsp --stdio`.
import { main } from "../dist/main.js";

main(process.argv.slice(2));
