error("at load", 2)
