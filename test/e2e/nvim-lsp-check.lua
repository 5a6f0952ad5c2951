-- Headless Neovim (0.7+) as a language-server client for test/e2e/nvim.test.ts.
-- Run: nvim --headless --clean -c 'luafile nvim-lsp-check.lua'; exit 0 = every check passed.
-- Env: ARMOR_SERVER   command line of the server ("node .../armor-lsp.js --stdio")
--      ARMOR_FILE     the policy to open (it has exactly one error, fixed by ARMOR_FIX)
--      ARMOR_OUT      where to write the log the test reads (key=value lines)
--      ARMOR_COMPLETE "line,col" (0-based) to ask for completions at
--      ARMOR_FIX      "line,col_start,col_end,text" (0-based): the fix, applied when the server
--                     offers no quick fix for the diagnostic
local file = assert(os.getenv('ARMOR_FILE'), 'set ARMOR_FILE')
local out = assert(io.open(assert(os.getenv('ARMOR_OUT'), 'set ARMOR_OUT'), 'w'))
local server = vim.split(assert(os.getenv('ARMOR_SERVER'), 'set ARMOR_SERVER'), ' ', { trimempty = true })
local function log(key, value) out:write(key, '=', tostring(value):gsub('\n', ' '), '\n'); out:flush() end
local ok_all = true
local function check(name, cond) log('check.' .. name, cond and 'pass' or 'FAIL'); ok_all = ok_all and cond end

vim.cmd('edit ' .. vim.fn.fnameescape(file))
local buf = vim.api.nvim_get_current_buf()
vim.bo[buf].filetype = 'armor'
local v = vim.version()
log('nvim', v.major .. '.' .. v.minor .. '.' .. v.patch)

local config = { name = 'armor', cmd = server, root_dir = vim.fn.fnamemodify(file, ':h') }
local client_id
if vim.lsp.start then
  client_id = vim.lsp.start(config, { bufnr = buf })
else
  client_id = vim.lsp.start_client(config)
  vim.lsp.buf_attach_client(buf, client_id)
end
log('client_id', client_id)

-- 1. diagnostics pushed by the server
local got = vim.wait(20000, function() return #vim.diagnostic.get(buf) > 0 end, 50)
local diags = vim.diagnostic.get(buf)
log('diagnostics.count', #diags)
for i, d in ipairs(diags) do
  log('diagnostic.' .. i, string.format('%d:%d severity=%d code=%s %s', d.lnum, d.col, d.severity, tostring(d.code or (d.user_data and d.user_data.lsp and d.user_data.lsp.code)), d.message))
end
check('diagnostics_received', got)

-- 2. completion after `action.`
local pos = vim.split(assert(os.getenv('ARMOR_COMPLETE'), 'set ARMOR_COMPLETE'), ',', { plain = true })
vim.api.nvim_win_set_cursor(0, { tonumber(pos[1]) + 1, tonumber(pos[2]) })
local params = vim.lsp.util.make_position_params()
local resp = vim.lsp.buf_request_sync(buf, 'textDocument/completion', params, 15000)
local labels = {}
for _, r in pairs(resp or {}) do
  if r.err then log('completion.error', vim.inspect(r.err)) end
  local items = r.result and (r.result.items or r.result) or {}
  for _, it in ipairs(items) do table.insert(labels, it.label) end
end
log('completion.labels', table.concat(labels, ' '))
check('completion_received', #labels > 0)

-- 3. the fix: the server's quick fix for the first error if it offers one, else the given edit
local client = vim.lsp.get_client_by_id(client_id)
local fixed_by = 'edit'
local first = diags[1]
if client and client.server_capabilities and client.server_capabilities.codeActionProvider and first then
  local lsp_diags = vim.tbl_map(function(d) return d.user_data and d.user_data.lsp or {
    range = { start = { line = d.lnum, character = d.col }, ['end'] = { line = d.end_lnum, character = d.end_col } },
    message = d.message, severity = d.severity, code = d.code, source = d.source } end, diags)
  local ca_params = {
    textDocument = { uri = vim.uri_from_bufnr(buf) },
    range = { start = { line = first.lnum, character = first.col }, ['end'] = { line = first.end_lnum or first.lnum, character = first.end_col or first.col } },
    context = { diagnostics = lsp_diags, only = { 'quickfix' } },
  }
  local ca = vim.lsp.buf_request_sync(buf, 'textDocument/codeAction', ca_params, 15000)
  for _, r in pairs(ca or {}) do
    for _, action in ipairs(r.result or {}) do
      log('codeaction', action.title or '?')
      if fixed_by == 'edit' and action.edit then
        vim.lsp.util.apply_workspace_edit(action.edit, client.offset_encoding or 'utf-16')
        fixed_by = 'quickfix: ' .. (action.title or '?')
      end
    end
  end
end
if fixed_by == 'edit' then
  local e = vim.split(assert(os.getenv('ARMOR_FIX'), 'set ARMOR_FIX'), ',', { plain = true })
  vim.api.nvim_buf_set_text(buf, tonumber(e[1]), tonumber(e[2]), tonumber(e[1]), tonumber(e[3]), { e[4] })
end
log('fixed_by', fixed_by)
log('fixed_line', vim.api.nvim_buf_get_lines(buf, first and first.lnum or 0, (first and first.lnum or 0) + 1, false)[1])
local cleared = vim.wait(20000, function() return #vim.diagnostic.get(buf) == 0 end, 50)
log('diagnostics.after_fix', #vim.diagnostic.get(buf))
check('diagnostics_cleared', cleared)

log('result', ok_all and 'PASS' or 'FAIL')
out:close()
vim.lsp.stop_client(client_id)
vim.wait(500)
vim.cmd(ok_all and 'qa!' or 'cq!')
