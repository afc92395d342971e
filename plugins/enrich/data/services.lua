-- Path prefixes and who owns them, longest first where they overlap.
return {
  { prefix = "/api/orders",   service = "orders",   team = "commerce" },
  { prefix = "/api/checkout", service = "checkout", team = "commerce" },
  { prefix = "/api/users",    service = "accounts", team = "identity" },
  { prefix = "/login",        service = "accounts", team = "identity" },
  { prefix = "/static",       service = "cdn",      team = "web" },
  { prefix = "/",             service = "web",      team = "web" },
}
