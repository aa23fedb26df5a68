-- luacheck configuration for rspamd plugins
std = "luajit"
globals = { "rspamd_config" }
max_line_length = 110
