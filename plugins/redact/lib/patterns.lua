-- What redact masks, in order: card numbers before IPs, so that the
-- digits of a card never read as an address.
return {
  { pattern = "[%w%.%%+%-_]+@[%w%.%-]+%.%a%a+", replacement = "<email>" },
  { pattern = "%f[%d]%d%d%d%d[ %-]?%d%d%d%d[ %-]?%d%d%d%d[ %-]?%d%d%d?%d?%f[%D]",
    replacement = "<card>" },
  { pattern = "%d+%.%d+%.%d+%.%d+",            replacement = "<ip>" },
}
