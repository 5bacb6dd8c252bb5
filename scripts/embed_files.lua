-- Embeds static files into C (the dashboard's web/ assets): run by the build
-- (CMakeLists.txt) as
--   luajit scripts/embed_files.lua OUT.c ROOT FILE...
-- OUT.c defines flow_web_assets[] (src/cluster/web_assets.h): each FILE's
-- path relative to ROOT, its content type (from its extension) and bytes.
local out_path, root = arg[1], arg[2]
local types = {
  html = "text/html; charset=utf-8", js = "text/javascript; charset=utf-8", css = "text/css; charset=utf-8",
  svg = "image/svg+xml", png = "image/png", ico = "image/x-icon", json = "application/json",
  txt = "text/plain; charset=utf-8",
}
local parts = { '#include "cluster/web_assets.h"\n\n' }
local entries = {}
for i = 3, #arg do
  local path = arg[i]
  local rel = path:sub(#root + 2)
  local f = assert(io.open(path, "rb"))
  local data = f:read("*a")
  f:close()
  local ext = rel:match("%.([%w]+)$") or ""
  local bytes = {}
  for k = 1, #data do bytes[#bytes + 1] = tostring(data:byte(k)) end
  local name = "asset_" .. (i - 2)
  parts[#parts + 1] = ("static const unsigned char %s[] = {%s%s};\n"):format(name, table.concat(bytes, ","),
    #data == 0 and "0" or "")
  entries[#entries + 1] = ('  {"%s", "%s", %s, %d},\n'):format(rel, types[ext] or "application/octet-stream",
    name, #data)
end
parts[#parts + 1] = "\nconst flow_web_asset_t flow_web_assets[] = {\n" .. table.concat(entries) ..
  "  {0, 0, 0, 0},\n};\n"
local o = assert(io.open(out_path, "wb"))
o:write(table.concat(parts))
o:close()
