local settings = nil

return settings.mode
