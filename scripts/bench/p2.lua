-- P2: WordCount with flow.ops.words() and the C keyed sum, parallelism 2: INPUT OUTPUT
local flow = require("flow")
local env = flow.env{ parallelism = 2 }
env:read_text_file(arg[1]):flat_map(flow.ops.words()):key_by(1):sum(2):write_as_text(arg[2])
env:execute("P2")
