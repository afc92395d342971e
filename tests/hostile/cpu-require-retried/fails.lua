error("this module fails to load, every time")
