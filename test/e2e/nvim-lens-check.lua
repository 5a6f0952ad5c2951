-- Headless Neovim (0.7+) as a language-server client for the decision lens and inlay hints
-- (test/e2e/nvim.test.ts). Run: nvim --headless --clean -c 'luafile nvim-lens-check.lua'.
-- Env: ARMOR_SERVER  command line of the server ("node .../armor-lsp.js --stdio")
--      ARMOR_FILE    a .test.armor file whose tests all pass
--      ARMOR_OUT     where to write the log the test reads (key=value lines)
-- The explanation a lens opens is shown by a client-side handler of `armor.explainTest`, as
-- packages/lsp/README.md suggests for Neovim: it asks the server and fills a scratch buffer.
local file = assert(os.getenv('ARMOR_FILE'), 'set ARMOR_FILE')
local out = assert(io.open(assert(os.getenv('ARMOR_OUT'), 'set ARMOR_OUT'), 'w'))
local server = vim.split(assert(os.getenv('ARMOR_SERVER'), 'set ARMOR_SERVER'), ' ', { trimempty = true })
local function log(key, value) out:write(key, '=', (tostring(value):gsub('\n', ' ')), '\n'); out:flush() end
local ok_all = true
local function check(name, cond) log('check.' .. name, cond and 'pass' or 'FAIL'); ok_all = ok_all and cond end

local explained = nil
vim.lsp.commands['armor.explainTest'] = function(command, ctx)
  local client = vim.lsp.get_client_by_id(ctx.client_id)
  client.request('workspace/executeCommand', { command = command.command, arguments = command.arguments }, function(err, result)
    if err or not result then explained = 'error: ' .. vim.inspect(err); return end
    local buf = vim.api.nvim_create_buf(false, true)
    vim.api.nvim_buf_set_lines(buf, 0, -1, false, vim.split(result.text, '\n'))
    explained = table.concat(vim.api.nvim_buf_get_lines(buf, 0, -1, false), '\n')
  end)
end

vim.cmd('edit ' .. vim.fn.fnameescape(file))
local buf = vim.api.nvim_get_current_buf()
vim.bo[buf].filetype = 'armor'
local config = { name = 'armor', cmd = server, root_dir = vim.fn.fnamemodify(file, ':h') }
local client_id
if vim.lsp.start then
  client_id = vim.lsp.start(config, { bufnr = buf })
else
  client_id = vim.lsp.start_client(config)
  vim.lsp.buf_attach_client(buf, client_id)
end
vim.wait(20000, function() local c = vim.lsp.get_client_by_id(client_id); return c ~= nil and c.initialized end, 50)

-- 1. the decision lenses: every test's decision, resolved by Neovim's code lens support
local function decision_lenses()
  vim.lsp.codelens.refresh()
  local found = {}
  vim.wait(20000, function()
    found = {}
    for _, l in ipairs(vim.lsp.codelens.get(buf) or {}) do
      if l.command and l.command.command == 'armor.explainTest' then table.insert(found, l) end
    end
    return #found > 0
  end, 100)
  return found
end
local lenses = decision_lenses()
log('lenses.count', #lenses)
local passing = 0
for i, l in ipairs(lenses) do
  if i <= 3 then log('lens.' .. i, l.range.start.line .. ' ' .. l.command.title) end
  if l.command.title:sub(1, 3) == '✓' then passing = passing + 1 end
end
log('lenses.passing', passing)
check('lenses_decided', #lenses > 0 and passing == #lenses)

-- 2. inlay hints for the whole file: each test's decision at its name
local hints = vim.lsp.buf_request_sync(buf, 'textDocument/inlayHint', {
  textDocument = { uri = vim.uri_from_bufnr(buf) },
  range = { start = { line = 0, character = 0 }, ['end'] = { line = vim.api.nvim_buf_line_count(buf), character = 0 } },
}, 15000)
local labels = {}
for _, r in pairs(hints or {}) do
  for _, h in ipairs(r.result or {}) do table.insert(labels, h.position.line .. ':' .. h.label) end
end
log('hints.count', #labels)
log('hints.first', labels[1] or '')
check('hints', #labels == #lenses)

-- 3. an edit that breaks the first test: its lens says so
local first = lenses[1]
local lines = vim.api.nvim_buf_get_lines(buf, first.range.start.line, -1, false)
for i, text in ipairs(lines) do
  local s, e = text:find('expect %a+')
  if s then
    local row = first.range.start.line + i - 1
    local decision = text:match('expect (%a+)')
    local other = decision == 'deny' and 'allow' or 'deny'
    vim.api.nvim_buf_set_text(buf, row, s - 1, row, e, { 'expect ' .. other })
    log('edited', row .. ' ' .. vim.api.nvim_buf_get_lines(buf, row, row + 1, false)[1])
    break
  end
end
local failed_title = ''
local failed_lens = nil
vim.wait(20000, function()
  for _, l in ipairs(decision_lenses()) do
    if l.range.start.line == first.range.start.line then failed_title = l.command.title; failed_lens = l end
  end
  return failed_title:sub(1, 3) == '✗'
end, 200)
log('lens.after_edit', failed_title)
check('lens_follows_edit', failed_title:sub(1, 3) == '✗')

-- 4. running the lens opens the explanation: every rule of the stage, why it fired or not
-- (as vim.lsp.codelens.run() does once the lens is picked from the line's two)
if failed_lens then vim.lsp.commands['armor.explainTest'](failed_lens.command, { client_id = client_id, bufnr = buf }) end
vim.wait(20000, function() return explained ~= nil end, 50)
log('explanation.first_lines', table.concat(vim.list_slice(vim.split(explained or '', '\n'), 1, 6), ' | '))
check('explained', explained ~= nil and explained:find('rule ', 1, true) ~= nil and explained:find('did not fire', 1, true) ~= nil)

log('result', ok_all and 'PASS' or 'FAIL')
out:close()
vim.lsp.stop_client(client_id)
vim.wait(500)
vim.cmd(ok_all and 'qa!' or 'cq!')
