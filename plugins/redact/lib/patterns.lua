-- What redact masks, in order.
return {
  { pattern = "[%w%.%%+%-_]+@[%w%.%-]+%.%a%a+", replacement = "<email>" },
  { pattern = "%d+%.%d+%.%d+%.%d+",            replacement = "<ip>" },
}
