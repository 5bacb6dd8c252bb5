--- require("flow"): the DataStream API (lua/flow/api/).
return require("flow.api.environment")
