describe("x", function()
  it("y", function() end
end)
