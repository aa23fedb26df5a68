--[[
drp.lua: ask drp (DCC, Razor2 and Pyzor in one service) about every message.

One asynchronous HTTP POST of the raw message to drp's /check per scan, on
rspamd's own event loop (rspamd_http with the task: the worker never
blocks).  The SMTP envelope travels in drp's X-DRP-* request headers so DCC
can compute its IP, HELO and envelope checksums.  Symbols come from the
JSON verdict; a failure of drp or of one network adds the zero-score
DRP_FAIL symbol with the reason and never a spam score.

Configuration: local.d/drp.conf (see the README section "rspamd").
]]--

local N = 'drp'

local rspamd_http = require "rspamd_http"
local rspamd_logger = require "rspamd_logger"
local lua_util = require "lua_util"
local lua_maps = require "lua_maps"
local ucl = require "ucl"

local settings = {
  url = 'http://127.0.0.1:8077/check',
  token = nil,
  token_file = nil,
  timeout = 6.0, -- drp answers within its backend budget (5 s) + a little
  max_size = 20 * 1024 * 1024,
  skip_authenticated = true,
  skip_local = true,
  whitelist_ip = nil, -- map of IPs/networks never sent to drp
  -- 'drp': DRP_DCC_BULK, DRP_RAZOR, DRP_PYZOR (the Go deployment's names);
  -- 'external_services': DCC_REJECT, DCC_BULK, RAZOR, PYZOR (rspamd's own).
  symbol_names = 'drp',
  dcc_bulk_threshold = 10, -- a Body/Fuz1/Fuz2 count at least this is bulk
  pyzor_count_threshold = 5, -- reports needed for a Pyzor hit
  pyzor_wl_threshold = 1, -- whitelist entries that make a message ham
  pyzor_wl_max_count = 0, -- a whitelisted message with more reports than this is still a hit
  symbol_fail = 'DRP_FAIL',
  symbol_pyzor_wl = 'DRP_PYZOR_WL',
  symbol_dcc_wl = 'DRP_DCC_WL',
}

local names = {
  drp = {
    dcc_reject = 'DRP_DCC_BULK',
    dcc_bulk = 'DRP_DCC_BULK',
    razor = 'DRP_RAZOR',
    pyzor = 'DRP_PYZOR',
  },
  external_services = {
    dcc_reject = 'DCC_REJECT',
    dcc_bulk = 'DCC_BULK',
    razor = 'RAZOR',
    pyzor = 'PYZOR',
  },
}

local sym -- the selected name table
local whitelist_ip_map

local function read_token_file(path)
  local f = io.open(path, 'r')
  if not f then
    return nil
  end
  local line = f:read('*l')
  f:close()
  if line then
    line = line:gsub('%s+$', '')
  end
  return line
end

-- Reasons to leave a message alone, or nil to scan it.
local function skip_reason(task)
  if task:has_flag('skip') then
    return 'skip flag'
  end
  if settings.skip_authenticated and task:get_user() then
    return 'authenticated sender'
  end
  local ip = task:get_from_ip()
  if ip and ip:is_valid() then
    if settings.skip_local and ip:is_local() then
      return 'local address'
    end
    if whitelist_ip_map and whitelist_ip_map:get_key(ip) then
      return 'whitelisted address'
    end
  end
  if settings.max_size > 0 and task:get_size() > settings.max_size then
    return 'message too large'
  end
  return nil
end

local function envelope_headers(task)
  local h = {
    ['Authorization'] = 'Bearer ' .. (settings.token or ''),
    ['Content-Type'] = 'message/rfc822',
  }
  local ip = task:get_from_ip()
  if ip and ip:is_valid() then
    h['X-DRP-Client-IP'] = ip:to_string()
  end
  local helo = task:get_helo()
  if helo and #helo > 0 then
    h['X-DRP-Helo'] = helo
  end
  local from = task:get_from('smtp')
  if from and from[1] and from[1].addr then
    h['X-DRP-Env-From'] = from[1].addr
  end
  local rcpts = task:get_recipients('smtp')
  if rcpts then
    local list = {}
    for _, r in ipairs(rcpts) do
      if r.addr and #r.addr > 0 then
        list[#list + 1] = r.addr
      end
    end
    if #list > 0 then
      h['X-DRP-Env-Rcpt'] = table.concat(list, ',')
    end
  end
  return h
end

local function num(v)
  if type(v) == 'number' then
    return v
  end
  return nil
end

-- Turn drp's verdict into symbols; returns the list of failure reasons.
local function apply_verdict(task, v)
  local failed = {}

  local function network_failed(name, part)
    if type(part) ~= 'table' then
      failed[#failed + 1] = name .. ': missing'
      return true
    end
    local st = part.status or 'ok'
    if st == 'disabled' then
      return true
    end
    if st ~= 'ok' then
      failed[#failed + 1] = string.format('%s: %s%s', name, st,
          part.error and (' (' .. tostring(part.error) .. ')') or '')
      return true
    end
    return false
  end

  local dcc = v.dcc
  if not network_failed('dcc', dcc) then
    local counts = type(dcc.counts) == 'table' and dcc.counts or {}
    local opts = {}
    for _, k in ipairs({'Body', 'Fuz1', 'Fuz2'}) do
      if counts[k] ~= nil then
        opts[#opts + 1] = string.format('%s=%s', k:lower(), tostring(counts[k]))
      end
    end
    local bulk = num(dcc.bulk)
    if dcc.whitelisted == true or dcc.action == 'whitelist' then
      task:insert_result(settings.symbol_dcc_wl, 1.0, opts)
    elseif dcc.action == 'reject' then
      task:insert_result(sym.dcc_reject, 1.0, opts)
    elseif bulk and bulk >= settings.dcc_bulk_threshold then
      task:insert_result(sym.dcc_bulk, 1.0, opts)
    end
  end

  local razor = v.razor
  if not network_failed('razor', razor) and razor.hit == true then
    local opts = {}
    if razor.cf ~= nil then
      opts[#opts + 1] = 'cf=' .. tostring(razor.cf)
    end
    task:insert_result(sym.razor, 1.0, opts)
  end

  local pyzor = v.pyzor
  if not network_failed('pyzor', pyzor) then
    local count, wl = num(pyzor.count) or 0, num(pyzor.wl) or 0
    local opts = {string.format('count=%d', count), string.format('wl=%d', wl)}
    local whitelisted = settings.pyzor_wl_threshold > 0 and wl >= settings.pyzor_wl_threshold
    if whitelisted and count <= settings.pyzor_wl_max_count then
      task:insert_result(settings.symbol_pyzor_wl, 1.0, opts)
    elseif count >= settings.pyzor_count_threshold and
        (not whitelisted or count > settings.pyzor_wl_max_count) then
      task:insert_result(sym.pyzor, 1.0, opts)
    end
  end

  return failed
end

local function drp_check(task)
  local why = skip_reason(task)
  if why then
    lua_util.debugm(N, task, 'not asking drp: %s', why)
    return
  end

  local function callback(err, code, body)
    if err then
      task:insert_result(settings.symbol_fail, 0.0, 'drp: ' .. tostring(err))
      return
    end
    if code ~= 200 then
      task:insert_result(settings.symbol_fail, 0.0, string.format('drp: HTTP %s', code))
      return
    end
    local parser = ucl.parser()
    local ok, perr = parser:parse_string(tostring(body), 'json')
    if not ok then
      task:insert_result(settings.symbol_fail, 0.0, 'drp: bad JSON: ' .. tostring(perr))
      return
    end
    local verdict = parser:get_object()
    if type(verdict) ~= 'table' then
      task:insert_result(settings.symbol_fail, 0.0, 'drp: bad verdict')
      return
    end
    local failed = apply_verdict(task, verdict)
    if #failed > 0 then
      task:insert_result(settings.symbol_fail, 0.0, failed)
    end
  end

  rspamd_http.request({
    task = task,
    url = settings.url,
    method = 'post',
    body = task:get_content(),
    headers = envelope_headers(task),
    timeout = settings.timeout,
    callback = callback,
  })
end

local opts = rspamd_config:get_all_opt(N)
if not opts then
  lua_util.disable_module(N, 'config')
  return
end
settings = lua_util.override_defaults(settings, opts)
settings.timeout = tonumber(settings.timeout) or 6.0
settings.max_size = tonumber(settings.max_size) or 0
settings.dcc_bulk_threshold = tonumber(settings.dcc_bulk_threshold) or 10
settings.pyzor_count_threshold = tonumber(settings.pyzor_count_threshold) or 5
settings.pyzor_wl_threshold = tonumber(settings.pyzor_wl_threshold) or 1
settings.pyzor_wl_max_count = tonumber(settings.pyzor_wl_max_count) or 0

sym = names[settings.symbol_names]
if not sym then
  rspamd_logger.errx(rspamd_config, 'drp: symbol_names must be "drp" or "external_services", not %s',
      settings.symbol_names)
  lua_util.disable_module(N, 'config')
  return
end

if (not settings.token or settings.token == '') and settings.token_file then
  settings.token = read_token_file(settings.token_file)
  if not settings.token then
    rspamd_logger.errx(rspamd_config, 'drp: cannot read token_file %s', settings.token_file)
  end
end

if settings.whitelist_ip then
  whitelist_ip_map = lua_maps.map_add_from_ucl(settings.whitelist_ip, 'radix',
      'drp: addresses never sent to drp')
end

local id = rspamd_config:register_symbol({
  name = 'DRP_CHECK',
  type = 'callback',
  callback = drp_check,
  flags = 'empty,nice',
  group = 'drp',
})

local seen = {}
local virtual = {sym.dcc_reject, sym.dcc_bulk, sym.razor, sym.pyzor, settings.symbol_fail,
                 settings.symbol_pyzor_wl, settings.symbol_dcc_wl}
for _, name in ipairs(virtual) do
  if not seen[name] then
    seen[name] = true
    rspamd_config:register_symbol({
      name = name,
      type = 'virtual',
      parent = id,
      group = 'drp',
    })
  end
end
-- DRP_FAIL must never change a verdict, whatever the groups say.
rspamd_config:set_metric_symbol({
  name = settings.symbol_fail,
  score = 0.0,
  description = 'drp or one of its networks failed (fail-open)',
  group = 'drp',
})
